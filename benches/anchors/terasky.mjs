// TeraSky's half of the side-by-side bench (issue 18): calls the conversion
// methods of the published `@terasky/backstage-plugin-kubernetes-ingestor`
// (pinned in package.json; nothing of it is copied here) on already-parsed
// XRD documents. Same modes and JSON shape as `benches/anchors.rs`:
//
//   node terasky.mjs list             every XRD document, accepted or not (and why)
//   node terasky.mjs round IDS_FILE   times the listed documents
//
// Template step = `XRDTemplateEntityProvider#translateXRDVersionsToTemplates`;
// Template + API = that plus `#translateXRDVersionsToAPI`. In the plugin both
// run on the objects its `XRDDataProvider.fetchXRDObjects` returns: the XRD as
// listed from a cluster plus the fields that step adds (clusters,
// clusterDetails, compositions, ...). `decorate` adds the same fields once,
// outside the timed code, with one cluster, no compositions and no generated
// CRD (so the API is the OpenAPI document, the same kind of API osp makes).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml'); // the YAML library the plugin itself uses
const { ConfigReader } = require('@backstage/config');

export function loadPlugin() {
  const t0 = process.hrtime.bigint();
  const { XRDTemplateEntityProvider } = require('@terasky/backstage-plugin-kubernetes-ingestor');
  const loadNs = process.hrtime.bigint() - t0;
  const silent = { error() {}, warn() {}, info() {}, debug() {}, child() { return silent; } };
  // A plausible app-config: every XRD offered, PRs to one GitHub repository.
  const config = new ConfigReader({
    kubernetesIngestor: {
      crossplane: {
        xrds: {
          enabled: true,
          ingestAllXRDs: true,
          publishPhase: {
            target: 'github',
            git: { repoUrl: 'github.com?owner=example&repo=infra', targetBranch: 'main' },
          },
        },
      },
    },
  });
  const taskRunner = { run: async () => {} };
  const resourceFetcher = {}; // never called: nothing is fetched
  const provider = new XRDTemplateEntityProvider(taskRunner, silent, config, resourceFetcher, undefined);
  return { provider, loadNs };
}

export function yamlFiles(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yamlFiles(p, out);
    else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(p);
  }
  return out;
}

// What the plugin's XRD listing step adds to each XRD (one cluster).
export function decorate(doc) {
  const isV2 = !!doc.spec?.scope;
  return {
    ...doc,
    clusterName: 'bench',
    clusterEndpoint: 'bench',
    crossplaneVersion: isV2 ? 'v2' : 'v1',
    scope: doc.spec?.scope || (isV2 ? 'LegacyCluster' : 'Cluster'),
    generatedCRD: undefined,
    clusters: ['bench'],
    clusterDetails: [{ name: 'bench', url: 'bench' }],
    compositions: [],
  };
}

// The listing step's filter, as the plugin documents it with
// `ingestAllXRDs: true`: a v1 XRD (or a v2 one with LegacyCluster scope)
// needs claimNames. (Its status check is left out: corpus files are not
// live objects and carry no status.)
export function listedByPlugin(doc) {
  const isV2 = doc.apiVersion === 'apiextensions.crossplane.io/v2';
  const scope = doc.spec?.scope || (isV2 ? 'Namespaced' : 'Cluster');
  if (!isV2 && !doc.spec?.claimNames?.kind) return 'v1 XRD without claimNames (not listed)';
  if (isV2 && scope === 'LegacyCluster' && !doc.spec?.claimNames?.kind) return 'LegacyCluster XRD without claimNames (not listed)';
  return null;
}

// Source bytes of each document of a stream (split at `---` lines).
function documentSizes(text, count) {
  const chunks = text
    .split(/^---.*$/m)
    .filter((c) => c.split('\n').some((l) => l.trim() && !l.trim().startsWith('#')));
  if (chunks.length === count) return chunks.map((c) => Buffer.byteLength(c));
  return Array(count).fill(Buffer.byteLength(text) / Math.max(count, 1));
}

// `{ id, doc, bytes }` of every XRD document that parses, ids as in anchors.rs.
export function xrds(root) {
  const out = [];
  for (const p of yamlFiles(root)) {
    const text = readFileSync(p, 'utf8');
    let docs;
    try {
      docs = yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
    } catch {
      continue;
    }
    const sizes = documentSizes(text, docs.length);
    const rel = relative(root, p);
    let n = 0;
    docs.forEach((d, i) => {
      if (d?.kind !== 'CompositeResourceDefinition') return;
      out.push({ id: `${rel}#${n}:${d.metadata?.name ?? ''}`, doc: d, bytes: Math.round(sizes[i]) });
      n += 1;
    });
  }
  return out;
}

function list(provider, docs) {
  return docs.map(({ id, doc, bytes }) => {
    const entry = { id, bytes, ok: false };
    const notListed = listedByPlugin(doc);
    const x = decorate(doc);
    try {
      entry.templates = provider.translateXRDVersionsToTemplates(x).length;
      entry.apis = provider.translateXRDVersionsToAPI(x).length;
    } catch (e) {
      entry.error = `throws: ${e?.message ?? e}`;
      return entry;
    }
    if (notListed) entry.error = notListed;
    else if (entry.templates === 0 || entry.apis === 0) entry.error = 'no entity made (no spec.versions, or a name over 63 characters)';
    else entry.ok = true;
    return entry;
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function round(provider, docs, root) {
  const runs = Number(process.env.ANCHORS_RUNS ?? 31);
  const passes = Number(process.env.ANCHORS_PASSES ?? 15);
  const warmups = Number(process.env.ANCHORS_WARMUPS ?? 5);
  const xs = docs.map(({ id, doc }) => ({ id, x: decorate(doc) }));
  let sink = 0;
  const tmpl = (x) => provider.translateXRDVersionsToTemplates(x).length;
  const both = (x) => provider.translateXRDVersionsToTemplates(x).length + provider.translateXRDVersionsToAPI(x).length;
  // JIT warm-up (osp's side does one pass).
  for (let w = 0; w < warmups; w++) for (const { x } of xs) sink += both(x);
  const time = (f, x) => {
    const t0 = process.hrtime.bigint();
    sink += f(x);
    return Number(process.hrtime.bigint() - t0);
  };
  const perDoc = {};
  for (const { id, x } of xs) {
    const t = [];
    const b = [];
    for (let r = 0; r < runs; r++) {
      t.push(time(tmpl, x));
      b.push(time(both, x));
    }
    perDoc[id] = { tmpl_ns: median(t), both_ns: median(b) };
  }
  const pass = { tmpl_ns: [], both_ns: [] };
  for (let r = 0; r < passes; r++) {
    for (const [key, f] of [['tmpl_ns', tmpl], ['both_ns', both]]) {
      const t0 = process.hrtime.bigint();
      for (const { x } of xs) sink += f(x);
      pass[key].push(Number(process.hrtime.bigint() - t0));
    }
  }
  return { tool: 'terasky', docs: xs.length, per_doc: perDoc, pass, phases: phases(provider, root, docs, passes), sink };
}

// Parsing the files that hold the documents (js-yaml, every document of each
// file) and writing their Templates and APIs as YAML: median of `passes`.
function phases(provider, root, docs, passes) {
  const rels = [...new Set(docs.map(({ id }) => id.slice(0, id.indexOf('#'))))];
  const texts = rels.map((rel) => readFileSync(join(root, rel), 'utf8'));
  const entities = docs.flatMap(({ doc }) => {
    const x = decorate(doc);
    return [...provider.translateXRDVersionsToTemplates(x), ...provider.translateXRDVersionsToAPI(x)];
  });
  const timedMedian = (f) => median(Array.from({ length: Math.max(passes, 1) }, () => {
    const t0 = process.hrtime.bigint();
    f();
    return Number(process.hrtime.bigint() - t0);
  }));
  let n = 0;
  const parse_ns = timedMedian(() => { for (const t of texts) n += yaml.loadAll(t).length; });
  const dump_ns = timedMedian(() => { for (const e of entities) n += yaml.dump(e, { skipInvalid: true }).length; });
  return { files: texts.length, bytes: texts.reduce((a, t) => a + Buffer.byteLength(t), 0), entities: entities.length, parse_ns, dump_ns, n };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(process.env.ANCHORS_DIR ?? new URL('../../../shared/corpus/xrd', import.meta.url).pathname);
  const [mode, idsFile] = process.argv.slice(2);
  const { provider, loadNs } = loadPlugin();
  let docs = xrds(root);
  let out;
  if (mode === 'round') {
    const wanted = new Set(readFileSync(idsFile, 'utf8').split('\n').filter(Boolean));
    docs = docs.filter((d) => wanted.has(d.id));
    out = round(provider, docs, root);
  } else {
    out = { tool: 'terasky', dir: root, docs: list(provider, docs) };
  }
  out.node = process.version;
  out.plugin_load_ms = Number(loadNs) / 1e6;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
