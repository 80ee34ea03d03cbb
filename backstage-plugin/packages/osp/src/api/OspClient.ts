import type { DiscoveryApi, FetchApi } from '@backstage/frontend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  OspClaimPreviewRequest,
  OspClaimPreviewResponse,
  OspDefinitionJson,
  OspResourceDeleteResponse,
  OspResourceStatusJson,
} from '@osp/plugin-osp-common';
import type { OspApi } from './OspApi';

/**
 * {@link OspApi} over HTTP: the backend's base URL from discovery, the
 * user's token from the fetch API. Failures are `ResponseError`s carrying
 * the backend's message.
 *
 * @public
 */
export class OspClient implements OspApi {
  constructor(private readonly deps: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {}

  getResourceStatus(entityRef: string, options?: { signal?: AbortSignal }): Promise<OspResourceStatusJson> {
    return this.getByRef('/resources/status', entityRef, options?.signal);
  }

  getDefinition(entityRef: string, options?: { signal?: AbortSignal }): Promise<OspDefinitionJson> {
    return this.getByRef('/definitions/summary', entityRef, options?.signal);
  }

  /** `GET <route>?entityRef=…` of the backend plugin. */
  private async getByRef<T>(route: string, entityRef: string, signal?: AbortSignal): Promise<T> {
    const base = await this.deps.discoveryApi.getBaseUrl('osp');
    const res = await this.deps.fetchApi.fetch(`${base}${route}?entityRef=${encodeURIComponent(entityRef)}`, { signal });
    if (!res.ok) throw await ResponseError.fromResponse(res);
    return res.json();
  }

  async deleteResource(entityRef: string): Promise<OspResourceDeleteResponse> {
    const base = await this.deps.discoveryApi.getBaseUrl('osp');
    const res = await this.deps.fetchApi.fetch(`${base}/resources/delete`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ entityRef }),
    });
    if (!res.ok) throw await ResponseError.fromResponse(res);
    return res.json();
  }

  async previewClaim(request: OspClaimPreviewRequest, options?: { signal?: AbortSignal }): Promise<OspClaimPreviewResponse> {
    const base = await this.deps.discoveryApi.getBaseUrl('osp');
    const res = await this.deps.fetchApi.fetch(`${base}/claims/preview`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
      signal: options?.signal,
    });
    if (!res.ok) throw await ResponseError.fromResponse(res);
    return res.json();
  }
}
