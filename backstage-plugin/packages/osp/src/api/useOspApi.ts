import { useMemo } from 'react';
import {
  discoveryApiRef,
  fetchApiRef,
  useApi,
  useApiHolder,
} from '@backstage/frontend-plugin-api';
import { ospApiRef, type OspApi } from './OspApi';
import { OspClient } from './OspClient';

/**
 * The registered {@link OspApi}, else a client over discovery and fetch:
 * a legacy app can place the card without registering an API factory.
 */
export function useOspApi(): OspApi {
  const registered = useApiHolder().get(ospApiRef);
  const discoveryApi = useApi(discoveryApiRef);
  const fetchApi = useApi(fetchApiRef);
  return useMemo(
    () => registered ?? new OspClient({ discoveryApi, fetchApi }),
    [registered, discoveryApi, fetchApi],
  );
}
