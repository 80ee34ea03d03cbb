import { OspClient } from './OspClient';

function clientWith(response: Response) {
  const fetch = jest.fn(async (_url: string, _init?: RequestInit) => response);
  const client = new OspClient({
    discoveryApi: { getBaseUrl: async (id: string) => `http://backstage:7007/api/${id}` },
    fetchApi: { fetch: fetch as never },
  });
  return { client, fetch };
}

describe('OspClient', () => {
  it('asks for the status of an entity ref, encoded', async () => {
    const { client, fetch } = clientWith(new Response(JSON.stringify({ message: 'ok' }), { status: 200 }));
    expect(await client.getResourceStatus('resource:default/a.b')).toEqual({ message: 'ok' });
    expect(fetch.mock.calls[0][0]).toBe('http://backstage:7007/api/osp/resources/status?entityRef=resource%3Adefault%2Fa.b');
  });

  it('posts the preview request as JSON', async () => {
    const { client, fetch } = clientWith(new Response(JSON.stringify({ violations: [] }), { status: 200 }));
    await client.previewClaim({ definition: 'd', name: 'n', values: { a: 1 } });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('http://backstage:7007/api/osp/claims/preview');
    expect(init).toMatchObject({ method: 'POST', headers: { 'Content-Type': 'application/json' } });
    expect(JSON.parse(init!.body as string)).toEqual({ definition: 'd', name: 'n', values: { a: 1 } });
  });

  it("fails with the backend's error", async () => {
    const body = { error: { name: 'NotAllowedError', message: 'not allowed: osp.resource.read' }, response: { statusCode: 403 } };
    const { client } = clientWith(
      new Response(JSON.stringify(body), { status: 403, headers: { 'Content-Type': 'application/json' } }),
    );
    await expect(client.getResourceStatus('resource:default/x')).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 403,
      body: { error: { message: 'not allowed: osp.resource.read' } },
    });
  });
});
