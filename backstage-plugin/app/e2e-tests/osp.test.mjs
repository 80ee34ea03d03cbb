// End to end: this real Backstage app (built frontend and backend, real
// config schema, default catalog policies, SQLite) beside the real
// `osp serve`, driven through Backstage's HTTP APIs and headless Chromium.
//
// Run by backstage-plugin/scripts/app-e2e.sh, which installs and builds the
// app; it needs OSP_BIN (the osp binary) and CHROMIUM (the browser).
// Figures go to stdout as `figure: name value`; screenshots to
// OSP_SCREENSHOTS when set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import https from 'node:https';
import readline from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const APP = path.resolve(import.meta.dirname, '..');
// Where the built backend runs: the unpacked bundle (app-e2e.sh) or the app.
const RUN = process.env.OSP_APP_RUN ?? APP;
const REPO = process.env.OSP_REPO ?? path.resolve(APP, '../..');
const OSP_BIN = process.env.OSP_BIN ?? path.join(REPO, 'target/debug/osp');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.OSP_SCREENSHOTS;
const BASE = 'http://localhost:7007';
const SIDECAR = '127.0.0.1:50051';
// The real Kubernetes API server of tests/kube (test.sh builds it); under CI
// it must be there, locally its test is skipped without it.
const APISERVER = process.env.OSP_TEST_APISERVER;
const CRDS = path.join(REPO, '../shared/corpus/crds/crossplane');
let cluster; // {server, ca_pem, admin_token} from its info file

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'osp-app-e2e-'));
// The watched source: the example definitions plus the GitOps repository's
// work tree, so a merged claim shows up as a Resource.
const source = path.join(work, 'source');
const gitops = path.join(source, 'gitops');
const children = [];
let token = '';
let browser;

function figure(name, value) {
  console.log(`figure: ${name} ${value}`);
}

function git(...args) {
  return execFileSync('git', ['-C', gitops, ...args], { encoding: 'utf8' }).trim();
}

function start(name, cmd, args, opts) {
  const log = fs.openSync(path.join(work, `${name}.log`), 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', log, log], ...opts });
  children.push({ name, child });
  return child;
}

function logOf(name) {
  return fs.readFileSync(path.join(work, `${name}.log`), 'utf8');
}

async function until(what, fn, timeoutMs = 60_000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise(r => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

async function api(p, init = {}) {
  const res = await fetch(`${BASE}${p}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

async function ospEntities() {
  const q = new URLSearchParams({
    filter: 'metadata.annotations.backstage.io/managed-by-location=osp:osp',
    fields: 'kind,metadata.name,metadata.namespace,metadata.annotations,spec.type',
  });
  return api(`/api/catalog/entities?${q}`);
}

/** The test API server with one XRD of its own (`Queue` claims), so its
 * Resources come from a real cluster beside the watched directory. */
async function startApiServer() {
  const xrd = path.join(work, 'queue-xrd.yaml');
  fs.writeFileSync(
    xrd,
    [
      'apiVersion: apiextensions.crossplane.io/v1',
      'kind: CompositeResourceDefinition',
      'metadata: {name: xqueues.e2e.example.org}',
      'spec:',
      '  group: e2e.example.org',
      '  names: {kind: XQueue, plural: xqueues}',
      '  claimNames: {kind: Queue, plural: queues}',
      '  versions:',
      '  - name: v1alpha1',
      '    served: true',
      '    referenceable: true',
      '    schema:',
      '      openAPIV3Schema:',
      '        type: object',
      '        properties:',
      '          spec: {type: object, properties: {size: {type: integer}}}',
      '',
    ].join('\n'),
  );
  const info = path.join(work, 'apiserver.json');
  const child = start('apiserver', APISERVER, ['--kubeconfig', path.join(work, 'kubeconfig'), '--info', info, '--crds', CRDS, '--xrd', xrd], {
    stdio: ['ignore', 'pipe', fs.openSync(path.join(work, 'apiserver.err.log'), 'w')],
  });
  const errLog = path.join(work, 'apiserver.err.log');
  const early = code => new Error(`osp-test-apiserver exited ${code}: ${fs.readFileSync(errLog, 'utf8').slice(-500)}`);
  let onExit;
  const ready = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', l => l.startsWith('READY ') && resolve(true));
    onExit = code => reject(early(code));
    child.once('exit', onExit);
  });
  // Its exit at the end of the run is expected.
  child.off('exit', onExit);
  cluster = ready && JSON.parse(fs.readFileSync(info, 'utf8'));
}

/** One request to the test API server as its admin. */
function kube(method, p, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${cluster.server}${p}`,
      { method, ca: cluster.ca_pem, headers: { authorization: `Bearer ${cluster.admin_token}`, 'content-type': contentType } },
      res => {
        let text = '';
        res.on('data', d => (text += d));
        res.on('end', () =>
          res.statusCode < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 300)}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

function sidecarCount() {
  // The sidecar's own view, page by page, through its CLI-less contract:
  // grpcurl is what platform engineers use, the test uses it too.
  const grpcurl = process.env.OSP_GRPCURL ?? 'grpcurl';
  let total = 0;
  let pageToken = '';
  do {
    const out = JSON.parse(
      execFileSync(grpcurl, ['-plaintext', '-d', JSON.stringify({ pageSize: 1000, pageToken, encoding: 'ENTITY_ENCODING_JSON' }), SIDECAR, 'osp.v1.CatalogService/GetSnapshot'], { encoding: 'utf8' }),
    );
    total += (out.entities ?? []).length;
    pageToken = out.nextPageToken ?? '';
  } while (pageToken);
  return total;
}

before(async () => {
  fs.mkdirSync(gitops, { recursive: true });
  for (const f of fs.readdirSync(path.join(REPO, 'examples'))) {
    if (f.endsWith('.yaml')) fs.copyFileSync(path.join(REPO, 'examples', f), path.join(source, f));
  }
  // A Composition for the bucket XRD, so its definition card names one.
  fs.writeFileSync(
    path.join(source, 'bucket-composition.yaml'),
    [
      'apiVersion: apiextensions.crossplane.io/v1',
      'kind: Composition',
      'metadata: {name: bucket-aws}',
      'spec:',
      '  compositeTypeRef: {apiVersion: storage.example.org/v1alpha1, kind: Bucket}',
      '  mode: Pipeline',
      '  pipeline:',
      '  - {step: patch-and-transform, functionRef: {name: function-patch-and-transform}}',
      '',
    ].join('\n'),
  );
  execFileSync('git', ['init', '-q', '-b', 'main', gitops]);
  git('config', 'user.email', 'e2e@example.org');
  git('config', 'user.name', 'e2e');
  fs.writeFileSync(path.join(gitops, 'README.md'), 'GitOps repository of the e2e test\n');
  git('add', '.');
  git('commit', '-qm', 'initial');
  if (APISERVER) await startApiServer();
  else if (process.env.CI) throw new Error('OSP_TEST_APISERVER is not set (CI needs the real API server; test.sh builds it)');
  const sidecarConfig = path.join(work, 'osp.yaml');
  fs.writeFileSync(
    sidecarConfig,
    [
      ...(cluster ? ['clusters:', `  - {name: e2e, kubeconfig: ${path.join(work, 'kubeconfig')}}`] : []),
      // Direct apply on the test API server: its claims can be deleted
      // from Backstage without a pull request.
      ...(cluster ? ['apply:', '  enabled: true', '  clusters: [e2e]', "  namespaces: ['*']"] : []),
      'catalog:',
      ...(cluster ? ['  clusters: [e2e]'] : []),
      `  appBaseUrl: ${BASE}`,
      '  defaultOwner: group:default/guests',
      // Generated Templates end with the live claim preview page.
      '  claimPreview: true',
      'publish:',
      '  local:',
      `    local/gitops: ${gitops}`,
      '',
    ].join('\n'),
  );
  start('osp', OSP_BIN, ['serve', '--listen', SIDECAR, '--from-dir', source, '--config', sidecarConfig], {
    env: { ...process.env, RUST_LOG: 'info' },
  });
  const t0 = Date.now();
  // From packages/backend, as `yarn start` runs it: app-config.yaml's
  // example locations are relative to it.
  start('backend', process.execPath, ['.', '--config', '../../app-config.yaml', '--config', '../../app-config.osp-demo.yaml'], {
    cwd: path.join(RUN, 'packages/backend'),
    env: { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: '--no-node-snapshot' },
  });
  await until('backend readiness', async () => (await fetch(`${BASE}/.backstage/health/v1/readiness`)).ok, 180_000, 250);
  figure('backend_start_to_ready_ms', Date.now() - t0);
  const guest = await (await fetch(`${BASE}/api/auth/guest/refresh`)).json();
  token = guest.backstageIdentity.token;
  const want = sidecarCount();
  await until(`all ${want} osp entities in the catalog`, async () => (await ospEntities()).length === want, 120_000, 100);
  figure('backend_start_to_all_entities_ms', Date.now() - t0);
  if (process.env.OSP_E2E_DEMO) await demo();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

/** `app-e2e.sh --demo`: leave the app and the sidecar running until Ctrl-C. */
async function demo() {
  console.log(
    [
      `demo: Backstage on ${BASE} (sign in as guest; Create lists the osp Templates)`,
      `demo: osp serve on ${SIDECAR}, definitions from ${source} (add or edit YAML there)`,
      `demo: GitOps target local/gitops = ${gitops} (merge an osp/* branch to see its Resource)`,
      'demo: Ctrl-C stops both',
    ].join('\n'),
  );
  await new Promise(resolve => process.once('SIGINT', resolve));
  for (const { child } of children.reverse()) child.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

after(async () => {
  await browser?.close();
  for (const { child } of children.reverse()) child.kill('SIGTERM');
  await new Promise(r => setTimeout(r, 500));
  if (process.env.OSP_E2E_KEEP) console.log(`kept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
});

test('every entity the sidecar serves passes the default policies and has no processing errors', async () => {
  const entities = await ospEntities();
  assert.equal(entities.length, sidecarCount());
  const kinds = new Set(entities.map(e => e.kind));
  for (const k of ['Template', 'API']) assert.ok(kinds.has(k), `no ${k} from osp`);
  const q = new URLSearchParams({ filter: 'metadata.annotations.backstage.io/managed-by-location=osp:osp' });
  for (const e of await api(`/api/catalog/entities?${q}`)) {
    const errors = (e.status?.items ?? []).filter(i => i.level === 'error');
    assert.deepEqual(errors, [], `${e.kind}:${e.metadata.name} has processing errors`);
  }
  assert.doesNotMatch(logOf('backend'), /InputError|is not valid|Policy check failed/);
});

test('a change in the watched source is visible in the catalog within seconds', async () => {
  // The provider's poll runs every 5 minutes here (app-config.yaml), so
  // anything faster is the change stream.
  const xrd = fs.readFileSync(path.join(source, 'network-xrd.yaml'), 'utf8');
  const samples = Number(process.env.OSP_E2E_CHANGE_SAMPLES ?? 20);
  const times = [];
  for (let i = 0; i < samples; i++) {
    const name = `e2enet${i}s.platform.example.org`;
    const doc = xrd
      .replace('name: networks.platform.example.org', `name: ${name}`)
      .replace('kind: Network', `kind: E2eNet${i}`)
      .replace('plural: networks', `plural: e2enet${i}s`);
    const t0 = Date.now();
    fs.writeFileSync(path.join(source, `e2e-${i}.yaml`), doc);
    await until(`template for ${name}`, async () => {
      const q = new URLSearchParams({ filter: 'kind=template', fields: 'metadata.name' });
      return (await api(`/api/catalog/entities?${q}`)).some(e => e.metadata.name.includes(`e2enet${i}`));
    }, 60_000, 20);
    times.push(Date.now() - t0);
  }
  times.sort((a, b) => a - b);
  const pct = p => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
  figure('change_to_visible_samples', times.length);
  figure('change_to_visible_p50_ms', pct(50));
  figure('change_to_visible_p99_ms', pct(99));
  figure('change_to_visible_max_ms', times[times.length - 1]);
  // Far below the 5-minute poll: every change came through the stream.
  assert.ok(times[times.length - 1] < 60_000);
});

/** Guest sign-in, finished before the caller navigates (else the next
 * page load races the session and lands on the sign-in page again). */
async function signIn(page) {
  const enter = page.getByRole('button', { name: 'Enter' });
  await enter.click();
  await enter.waitFor({ state: 'detached' });
}

/** A new browser page, signed in, at `p`; closed when `t` ends. */
async function signedInPage(t, p) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  t.after(() => page.close());
  page.setDefaultTimeout(30_000);
  await page.goto(`${BASE}/`);
  await signIn(page);
  await page.goto(`${BASE}${p}`);
  return page;
}

/** A Resource's entity page, and its osp status card. */
async function resourcePage(t, resource) {
  const page = await signedInPage(t, `/catalog/default/resource/${resource.metadata.name}`);
  return { page, card: page.locator('#osp-resource-status-card') };
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

test('a user creates a claim in the browser; the task completes and its links resolve', async t => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  t.after(() => shot(page, 'last').catch(() => {}));
  page.setDefaultTimeout(30_000);
  await page.goto(`${BASE}/`);
  await signIn(page);
  await page.goto(`${BASE}/create`);
  const card = page.getByText('PostgreSQL', { exact: false }).first();
  await card.waitFor();
  await shot(page, 'create-page');
  const templates = await api(`/api/catalog/entities?${new URLSearchParams({ filter: 'kind=template,metadata.annotations.backstage.io/managed-by-location=osp:osp' })}`);
  const pg = templates.find(t => /postgres/i.test(t.metadata.name));
  assert.ok(pg, 'no osp PostgreSQL template');
  await page.goto(`${BASE}/create/templates/${pg.metadata.namespace ?? 'default'}/${pg.metadata.name}`);
  await page.getByLabel(/name/i).first().fill('orders-db');
  await shot(page, 'form');
  // Page 1: metadata. The owner is Backstage's OwnerPicker (free text allowed).
  const owner = page.getByLabel(/^Owner/);
  await owner.fill('group:default/guests');
  await owner.press('Enter');
  // Next through the pages; on Delivery, RepoUrlPicker names the local target.
  let previewed = false;
  for (let i = 0; i < 8 && !(await page.getByRole('button', { name: 'Create' }).count()); i++) {
    // The PostgreSQL example's one required field without a default.
    const storage = page.getByLabel(/^Storage GB/);
    if (await storage.count()) await storage.fill('20');
    const repo = page.getByLabel(/^Repository/);
    if (await repo.count()) {
      await page.getByLabel(/^Owner/).fill('local');
      await repo.fill('gitops');
    }
    // The generated Preview page: the sidecar's rendering of this very form.
    if (await page.getByText('Claim preview').count()) {
      const t0 = Date.now();
      await page.getByText(/kind: PostgreSQLInstance/).first().waitFor({ timeout: 15_000 });
      figure('generated_template_preview_ms', Date.now() - t0);
      assert.ok(await page.getByText(/storageGB: 20/).count(), 'the preview shows the value typed on an earlier page');
      await shot(page, 'generated-preview');
      previewed = true;
    }
    await page.getByRole('button', { name: /^(Next|Review)$/ }).click();
  }
  assert.ok(previewed, 'the generated Template ends with the claim preview');
  await shot(page, 'review');
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('link', { name: 'Open in catalog' }).waitFor({ timeout: 60_000 });
  figure('task_submit_to_completed_ms', Date.now() - t0);
  await shot(page, 'task-finished');
  const branch = await until('the claim branch in the GitOps repository', () =>
    git('branch', '--list', 'osp/*').replace(/^[* ]+/, ''),
  );
  assert.match(branch, /orders-db/, 'the branch keeps the claim name');
  // The example XRD asks for kustomization upkeep (`osp.dev/kustomization`):
  // the branch lists the claim file in its folder's kustomization.yaml.
  const files = git('diff', '--name-only', `main...${branch}`).split('\n');
  const claimFile = files.find(f => /orders-db.*\.yaml$/.test(f));
  assert.ok(claimFile, `no claim file among ${files.join(', ')}`);
  const kustomization = git('show', `${branch}:${path.posix.join(path.posix.dirname(claimFile), 'kustomization.yaml')}`);
  assert.match(kustomization, new RegExp(`- ${path.posix.basename(claimFile).replace('.', '\\.')}`), 'the kustomization lists the claim');
  // "Merge" the change: the watched work tree now holds the claim.
  git('merge', '-q', '--ff-only', branch);
  const catalogLink = page.getByRole('link', { name: 'Open in catalog' });
  await catalogLink.waitFor();
  const href = await catalogLink.getAttribute('href');
  const resource = await until('the Resource of the claim', async () => {
    const q = new URLSearchParams({ filter: 'kind=resource,metadata.annotations.backstage.io/managed-by-location=osp:osp' });
    return (await api(`/api/catalog/entities?${q}`)).find(e => e.metadata.name.startsWith('orders-db'));
  }, 30_000, 100);
  assert.ok(href.includes(resource.metadata.name), `catalog link ${href} is not the Resource ${resource.metadata.name}`);
  for (const l of resource.metadata.links ?? []) assert.match(l.url, /^https?:\/\//);
  await catalogLink.click();
  // The page's header shows the entity's title (the claim's own name).
  await page.getByText(resource.metadata.title ?? resource.metadata.name, { exact: true }).first().waitFor();
  // The entity page's cards load after its header.
  await page.waitForLoadState('networkidle').catch(() => {});
  await shot(page, 'resource-page');
  // Day-2: the osp plugin's status card on the Resource page, from
  // GetResourceStatus through /api/osp (a --from-dir claim has no cluster
  // to report from: the sidecar answers `pending`).
  const statusCard = page.locator('#osp-resource-status-card');
  await statusCard.getByText('Live status').waitFor();
  await statusCard.locator('.osp-state').first().waitFor();
  assert.equal(await statusCard.locator('.osp-state').first().textContent(), 'pending');
  assert.match(await statusCard.getByRole('treeitem').first().getAttribute('aria-label'), /^PostgreSQLInstance (\S+\/)?orders-db$/);
  await shot(page, 'resource-status-card');
  const status = await api(`/api/osp/resources/status?${new URLSearchParams({ entityRef: `resource:default/${resource.metadata.name}` })}`);
  assert.equal(status.root.name, 'orders-db');
  assert.equal(status.root.kind, 'PostgreSQLInstance');
  // A status change reaches the open page by itself: the claim, as its
  // controller would, reports Synced and Ready (here in the watched file).
  fs.appendFileSync(
    path.join(gitops, claimFile),
    ['status:', '  conditions:',
      '  - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-12-03T10:00:00Z"}',
      '  - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-12-03T10:00:01Z"}', ''].join('\n'),
  );
  const changed = Date.now();
  await statusCard.locator('.osp-state', { hasText: /^ready$/ }).first().waitFor({ timeout: 30_000 });
  figure('status_change_to_open_page_ms', Date.now() - changed);
  await shot(page, 'resource-status-ready');
  // Day-2 delete: the claim recorded where it lives, so the card offers
  // Delete; confirming proposes the removal (here a commit on a branch of
  // the local target, as publishing did).
  assert.equal(resource.metadata.annotations['osp.dev/repo-path'], claimFile, 'the Resource knows its file');
  await statusCard.getByRole('button', { name: 'Delete…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(claimFile, { exact: false }).waitFor();
  await shot(page, 'delete-confirmation');
  await dialog.getByRole('button', { name: 'Open pull request' }).click();
  await statusCard.getByText(/^Deletion committed on branch /).waitFor();
  const deletion = git('branch', '--list', 'osp/*delete*').replace(/^[* ]+/, '');
  assert.match(deletion, /^osp\/delete-.*orders-db/, 'a branch of its own, named for the claim');
  const removed = git('diff', '--name-status', `main...${deletion}`);
  assert.match(removed, new RegExp(`^D\\s+${claimFile.replace(/[.]/g, '\\.')}$`, 'm'), removed);
  const left = git('show', `${deletion}:${path.posix.join(path.posix.dirname(claimFile), 'kustomization.yaml')}`);
  assert.doesNotMatch(left, /orders-db/, 'the kustomization entry is gone too');
  await page.close();
});

test('a status change made in the real API server shows on the open Resource page within seconds', { skip: !APISERVER && 'OSP_TEST_APISERVER not set' }, async t => {
  await kube('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-q' } });
  await kube('POST', '/apis/e2e.example.org/v1alpha1/namespaces/team-q/queues', {
    apiVersion: 'e2e.example.org/v1alpha1',
    kind: 'Queue',
    metadata: { name: 'jobs', namespace: 'team-q', annotations: { 'osp.dev/owner': 'group:default/guests' } },
    spec: { size: 3 },
  });
  const created = Date.now();
  const resource = await until('the Resource of the claim in the cluster', async () => {
    const q = new URLSearchParams({ filter: 'kind=resource,metadata.annotations.backstage.io/managed-by-location=osp:osp' });
    return (await api(`/api/catalog/entities?${q}`)).find(e => e.metadata.name.startsWith('jobs'));
  }, 60_000, 100);
  figure('cluster_claim_to_catalog_resource_ms', Date.now() - created);
  assert.equal(resource.metadata.annotations['osp.dev/cluster'], 'e2e');
  const { page, card } = await resourcePage(t, resource);
  await card.locator('.osp-state').first().waitFor();
  assert.notEqual(await card.locator('.osp-state').first().textContent(), 'ready');
  // What Crossplane's claim controller writes once the composite is ready.
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const changed = Date.now();
  await kube('PATCH', '/apis/e2e.example.org/v1alpha1/namespaces/team-q/queues/jobs/status', {
    status: {
      conditions: [
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', lastTransitionTime: now },
        { type: 'Ready', status: 'True', reason: 'Available', lastTransitionTime: now },
      ],
    },
  }, 'application/merge-patch+json');
  await card.locator('.osp-state', { hasText: /^ready$/ }).first().waitFor({ timeout: 30_000 });
  figure('cluster_status_change_to_open_page_ms', Date.now() - changed);
  await card.getByText('Available').first().waitFor();
  // The live object, as the API server holds it, without managedFields.
  await card.getByText('YAML', { exact: true }).click();
  const live = await card.getByLabel('Live object YAML').textContent();
  assert.match(live, /size: 3/);
  assert.match(live, /reason: Available/);
  assert.doesNotMatch(live, /managedFields/);
  await shot(page, 'resource-status-cluster');
  // A failure is shown with the controller's own message.
  const failed = Date.now();
  await kube('PATCH', '/apis/e2e.example.org/v1alpha1/namespaces/team-q/queues/jobs/status', {
    status: {
      conditions: [
        { type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'cannot compose resources: quota exceeded', lastTransitionTime: now },
        { type: 'Ready', status: 'True', reason: 'Available', lastTransitionTime: now },
      ],
    },
  }, 'application/merge-patch+json');
  await card.locator('.osp-state', { hasText: /^error$/ }).first().waitFor({ timeout: 30_000 });
  figure('cluster_error_to_open_page_ms', Date.now() - failed);
  await card.getByText('cannot compose resources: quota exceeded').first().waitFor();
  // Not published through osp, but direct apply admits it: Delete removes
  // it from the cluster at once, and its Resource leaves the catalog.
  await card.getByRole('button', { name: 'Delete…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(/deletes Queue jobs from cluster e2e now/).waitFor();
  await shot(page, 'delete-direct-confirmation');
  await dialog.getByRole('button', { name: 'Delete now' }).click();
  await card.getByText('Deleted from cluster e2e').waitFor();
  await assert.rejects(kube('GET', '/apis/e2e.example.org/v1alpha1/namespaces/team-q/queues/jobs'), /404/);
  const deleted = Date.now();
  await until('the Resource to leave the catalog', async () => {
    const q = new URLSearchParams({ filter: 'kind=resource,metadata.annotations.backstage.io/managed-by-location=osp:osp' });
    return !(await api(`/api/catalog/entities?${q}`)).some(e => e.metadata.name === resource.metadata.name);
  }, 30_000, 100);
  figure('direct_delete_to_catalog_gone_ms', Date.now() - deleted);
});

test('the API page of a definition says where it is offered: clusters, Compositions, versions', async t => {
  const q = new URLSearchParams({ filter: 'kind=api,metadata.annotations.osp.dev/definition=buckets.storage.example.org' });
  const [apiEntity] = await api(`/api/catalog/entities?${q}`);
  assert.ok(apiEntity, 'no osp API for the bucket XRD');
  const ref = `api:${apiEntity.metadata.namespace ?? 'default'}/${apiEntity.metadata.name}`;
  const summary = await api(`/api/osp/definitions/summary?${new URLSearchParams({ entityRef: ref })}`);
  assert.deepEqual(summary.clusters, [{ name: 'from-dir', compositions: ['bucket-aws'] }]);
  assert.deepEqual(summary.versions, ['v1alpha1']);
  const page = await signedInPage(t, `/catalog/${apiEntity.metadata.namespace ?? 'default'}/api/${apiEntity.metadata.name}`);
  const card = page.locator('#osp-definition-card');
  await card.getByText('from-dir — Compositions: bucket-aws').waitFor();
  assert.equal(await card.getByTestId('osp-versions').textContent(), 'Versions: v1alpha1 (offered)');
  await shot(page, 'definition-card');
});

test('a user who does not own a Resource cannot delete its claim', async t => {
  // Another team's claim, merged into the GitOps repository. The app's
  // policy (packages/backend/src/permissionPolicy.ts) lets only owners
  // delete (isEntityOwner); the guest is in group:default/guests only.
  const file = 'platform/billing-db.yaml';
  fs.mkdirSync(path.join(gitops, 'platform'), { recursive: true });
  fs.writeFileSync(
    path.join(gitops, file),
    [
      'apiVersion: database.example.org/v1alpha1',
      'kind: PostgreSQLInstance',
      'metadata:',
      '  name: billing-db',
      '  namespace: platform',
      '  annotations:',
      '    osp.dev/owner: group:default/platform',
      '    osp.dev/repo-url: github.com?owner=local&repo=gitops',
      `    osp.dev/repo-path: ${file}`,
      '    osp.dev/idempotency-key: claim/platform/billing-db',
      'spec:',
      '  parameters: {storageGB: 50}',
      '',
    ].join('\n'),
  );
  git('add', file);
  git('commit', '-qm', 'billing-db (platform team)');
  const resource = await until('the platform team\'s Resource', async () => {
    const q = new URLSearchParams({ filter: 'kind=resource,metadata.annotations.backstage.io/managed-by-location=osp:osp' });
    return (await api(`/api/catalog/entities?${q}`)).find(e => e.metadata.name.startsWith('billing-db'));
  }, 30_000, 100);
  assert.equal(resource.spec.owner, 'group:default/platform');
  const ref = `resource:default/${resource.metadata.name}`;
  const status = await api(`/api/osp/resources/status?${new URLSearchParams({ entityRef: ref })}`);
  assert.deepEqual(status.allowed, { delete: false });
  // The route refuses on its own, whatever the page shows.
  const res = await fetch(`${BASE}/api/osp/resources/delete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ entityRef: ref }),
  });
  assert.equal(res.status, 403);
  assert.match((await res.json()).error.message, /osp\.resource\.delete/);
  const branches = git('branch', '--list', '*billing-db*');
  assert.equal(branches, '', 'no deletion branch was made');
  // In the browser: the button is off and says why.
  const { page, card } = await resourcePage(t, resource);
  await card.getByText(/^You may not delete this Resource/).waitFor();
  assert.equal(await card.getByRole('button', { name: 'Delete…' }).isDisabled(), true);
  await shot(page, 'delete-not-allowed');
});

test('the claim preview route returns the manifest, or every violation with its field', async () => {
  const definition = 'xpostgresqlinstances.database.example.org';
  const ok = await api('/api/osp/claims/preview', {
    method: 'POST',
    body: JSON.stringify({ definition, name: 'preview-db', namespace: 'team-a', values: { parameters: { storageGB: 20 } } }),
  });
  assert.deepEqual(ok.violations, []);
  assert.match(ok.manifest, /name: preview-db/);
  // The round trip the form pays per (debounced) change.
  const samples = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    await api('/api/osp/claims/preview', {
      method: 'POST',
      body: JSON.stringify({ definition, name: `preview-${i}`, namespace: 'team-a', values: { parameters: { storageGB: 20 + i } } }),
    });
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  figure('preview_round_trip_p50_ms', samples[Math.floor(samples.length * 0.5)].toFixed(1));
  figure('preview_round_trip_p95_ms', samples[Math.floor(samples.length * 0.95)].toFixed(1));
  figure('preview_round_trip_max_ms', samples[samples.length - 1].toFixed(1));
  assert.match(ok.idempotencyKey, /preview-db/);
  const bad = await api('/api/osp/claims/preview', {
    method: 'POST',
    body: JSON.stringify({ definition, name: 'preview-db', namespace: 'team-a', values: { parameters: { storageGB: 0 } } }),
  });
  assert.equal(bad.manifest, '');
  assert.ok(bad.violations.some(v => v.field.includes('storageGB')), JSON.stringify(bad.violations));
  // A CEL rule of the XRD (x-kubernetes-validations), checked before submit
  // exactly as the API server would.
  const cel = await api('/api/osp/claims/preview', {
    method: 'POST',
    body: JSON.stringify({ definition: 'buckets.storage.example.org', name: 'logs', namespace: 'team-a', values: { lifecycle: [{ days: 4000 }] } }),
  });
  assert.equal(cel.manifest, '');
  assert.ok(
    cel.violations.some(v => v.field.startsWith('spec') && /lifecycle rules expire after at most 10 years/.test(v.description)),
    JSON.stringify(cel.violations),
  );
  // Backstage auth guards the route.
  const anonymous = await fetch(`${BASE}/api/osp/claims/preview`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(anonymous.status, 401);
});

test('the OspClaimPreview field shows the violations, then the manifest, as the user types', async t => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  t.after(() => shot(page, 'last-preview').catch(() => {}));
  page.setDefaultTimeout(30_000);
  await page.goto(`${BASE}/`);
  await signIn(page);
  await page.goto(`${BASE}/create/templates/default/osp-claim-preview-demo`);
  const preview = page.getByTestId('osp-claim-preview');
  await page.getByLabel(/^Claim name/).fill('preview-db');
  await page.getByLabel(/^Storage GB/).fill('0');
  const violations = preview.getByRole('list', { name: 'Violations' });
  await violations.getByText('spec.parameters.storageGB').waitFor();
  await shot(page, 'claim-preview-violations');
  await page.getByLabel(/^Storage GB/).fill('20');
  const manifest = preview.getByLabel('Manifest');
  await manifest.waitFor();
  const yaml = await manifest.textContent();
  assert.match(yaml, /name: preview-db/);
  assert.match(yaml, /namespace: team-a/);
  assert.match(yaml, /storageGB: 20/);
  assert.equal(await violations.count(), 0);
  await shot(page, 'claim-preview-manifest');
  await page.close();
});
