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

  async getResourceStatus(entityRef: string, options?: { signal?: AbortSignal }): Promise<OspResourceStatusJson> {
    const base = await this.deps.discoveryApi.getBaseUrl('osp');
    const res = await this.deps.fetchApi.fetch(
      `${base}/resources/status?entityRef=${encodeURIComponent(entityRef)}`,
      { signal: options?.signal },
    );
    if (!res.ok) throw await ResponseError.fromResponse(res);
    return res.json();
  }

  async getDefinition(entityRef: string, options?: { signal?: AbortSignal }): Promise<OspDefinitionJson> {
    const base = await this.deps.discoveryApi.getBaseUrl('osp');
    const res = await this.deps.fetchApi.fetch(
      `${base}/definitions/summary?entityRef=${encodeURIComponent(entityRef)}`,
      { signal: options?.signal },
    );
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
