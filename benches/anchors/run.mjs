// Side-by-side driver (issue 18): osp against TeraSky's published
// kubernetes-ingestor, interleaved, over the same XRD documents.
//
//   cd benches/anchors && npm ci          # once; the bench's only network step
//   cargo build --release -p osp-sidecar --bin osp
//   node benches/anchors/run.mjs          # from the repository root
//
// 1. In process: `cargo bench --bench anchors -- list` and `node terasky.mjs
//    list` say which XRD documents each side accepts; the documents both accept
//    are timed in ANCHORS_ROUNDS (default 5) alternating rounds, osp then
//    TeraSky, each in a fresh process. Per round: each document's median of
//    ANCHORS_RUNS calls, and ANCHORS_PASSES whole passes.
// 2. End to end: `osp convert DIR` against `node terasky-e2e.mjs DIR` (read,
//    parse, convert, write YAML) on the XRD corpus and on a temporary copy with
//    10 copies of it, E2E_ROUNDS (default 5) alternating runs each, wall time
//    and peak RSS (`/usr/bin/time -v`); then the same over only the files whose
//    XRDs both tools convert ("common").
//
// Knobs: ANCHORS_DIR (default ../shared/corpus/xrd from the repository root),
// OSP_BIN (default $CARGO_TARGET_DIR/release/osp or target/release/osp),
// ANCHORS_NODE (node binary for TeraSky's side, default `node`),
// ANCHORS_OUT (also write every figure as JSON there), ANCHORS_SKIP_E2E=1.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const repo = resolve(here, '../..');
const dir = resolve(process.env.ANCHORS_DIR ?? join(repo, '../shared/corpus/xrd'));
const node = process.env.ANCHORS_NODE ?? 'node';
const rounds = Number(process.env.ANCHORS_ROUNDS ?? 5);
const e2eRounds = Number(process.env.E2E_ROUNDS ?? 5);
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
const ospBin = process.env.OSP_BIN ?? join(targetDir, 'release/osp');
const env = { ...process.env, ANCHORS_DIR: dir };
const scratch = mkdtempSync(join(tmpdir(), 'osp-anchors-'));

function ospBenchBinary() {
  const out = execFileSync('cargo', ['bench', '--bench', 'anchors', '--no-run', '--message-format=json'], {
    cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28,
  });
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const m = JSON.parse(line);
    if (m.reason === 'compiler-artifact' && m.target?.name === 'anchors' && m.executable) return m.executable;
  }
  throw new Error('no anchors bench executable');
}

const run = (cmd, args) => JSON.parse(execFileSync(cmd, args, { cwd: here, env, encoding: 'utf8', maxBuffer: 1 << 28 }));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))]; };
const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

const ospExe = ospBenchBinary();
const result = { dir, node: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim() };

// --- which documents each side accepts
const ospList = run(ospExe, ['list']);
const tList = run(node, ['terasky.mjs', 'list']);
const ospOk = new Set(ospList.docs.filter((d) => d.ok).map((d) => d.id));
const bytes = Object.fromEntries(tList.docs.map((d) => [d.id, d.bytes]));
const both = tList.docs.filter((d) => d.ok && ospOk.has(d.id)).map((d) => d.id);
const tReasons = {};
for (const d of tList.docs.filter((d) => !d.ok)) {
  const k = d.error.replace(/^(throws: [^`'"(]*).*$/, '$1').trim();
  tReasons[k] = (tReasons[k] ?? 0) + 1;
}
result.documents = {
  xrd_documents: ospList.docs.length,
  terasky_documents: tList.docs.length,
  osp_accepts: ospOk.size,
  terasky_accepts: tList.docs.filter((d) => d.ok).length,
  terasky_rejects: tReasons,
  osp_rejects_terasky_accepts: tList.docs.filter((d) => d.ok && !ospOk.has(d.id)).map((d) => d.id),
  both: both.length,
  terasky_templates: sum(tList.docs.filter((d) => both.includes(d.id)).map((d) => d.templates)),
  terasky_apis: sum(tList.docs.filter((d) => both.includes(d.id)).map((d) => d.apis)),
};
const idsFile = join(scratch, 'ids.txt');
writeFileSync(idsFile, `${both.join('\n')}\n`);
console.log(`XRD documents: ${ospList.docs.length}; osp accepts ${ospOk.size}, TeraSky ${result.documents.terasky_accepts}, both ${both.length}`);
console.log('TeraSky rejects:', tReasons);

// --- interleaved in-process rounds
const rs = [];
for (let r = 0; r < rounds; r++) {
  const o = run(ospExe, ['round', idsFile]);
  const t = run(node, ['terasky.mjs', 'round', idsFile]);
  rs.push({ o, t });
  process.stderr.write(`round ${r + 1}/${rounds}: osp pass ${(median(o.pass.both_ns) / 1e6).toFixed(2)} ms, TeraSky Template ${(median(t.pass.tmpl_ns) / 1e6).toFixed(2)} ms, Template + API ${(median(t.pass.both_ns) / 1e6).toFixed(2)} ms\n`);
}
// Per round: sum of per-document medians and median whole pass; ratios per round.
const perRound = rs.map(({ o, t }) => {
  const s = (m, k) => sum(both.map((id) => m.per_doc[id][k])) / 1e6;
  const x = { osp_sum_ms: s(o, 'both_ns'), t_tmpl_sum_ms: s(t, 'tmpl_ns'), t_both_sum_ms: s(t, 'both_ns'),
    osp_pass_ms: median(o.pass.both_ns) / 1e6, osp_borrowed_pass_ms: median(o.pass.borrowed_ns ?? o.pass.both_ns) / 1e6, t_tmpl_pass_ms: median(t.pass.tmpl_ns) / 1e6, t_both_pass_ms: median(t.pass.both_ns) / 1e6 };
  x.ratio_tmpl_pass = x.t_tmpl_pass_ms / x.osp_pass_ms;
  x.ratio_both_pass = x.t_both_pass_ms / x.osp_pass_ms;
  x.ratio_tmpl_sum = x.t_tmpl_sum_ms / x.osp_sum_ms;
  x.ratio_both_sum = x.t_both_sum_ms / x.osp_sum_ms;
  return x;
});
result.rounds = perRound;
// Per document: median over rounds of the per-round medians (µs).
const perDoc = both.map((id) => ({
  id, bytes: bytes[id],
  osp: median(rs.map(({ o }) => o.per_doc[id].both_ns)) / 1e3,
  t_tmpl: median(rs.map(({ t }) => t.per_doc[id].tmpl_ns)) / 1e3,
  t_both: median(rs.map(({ t }) => t.per_doc[id].both_ns)) / 1e3,
}));
const dist = (docs, k) => {
  const kb = sum(docs.map((d) => d.bytes)) / 1024;
  return { n: docs.length, p50_us: pct(docs.map((d) => d[k]), 0.5), p99_us: pct(docs.map((d) => d[k]), 0.99),
    max_us: Math.max(...docs.map((d) => d[k])), us_per_kb: sum(docs.map((d) => d[k])) / kb,
    us_per_kb_p50: pct(docs.map((d) => d[k] / (d.bytes / 1024)), 0.5) };
};
const small = perDoc.filter((d) => d.bytes < 50 * 1024);
result.per_document = {};
for (const k of ['osp', 't_tmpl', 't_both']) result.per_document[k] = { all: dist(perDoc, k), under_50kb: dist(small, k) };
result.slowest_osp = [...perDoc].sort((a, b) => b.osp - a.osp).slice(0, 3);
result.osp_slower = perDoc.filter((d) => d.osp > d.t_both).map((d) => ({ id: d.id, bytes: d.bytes, osp: d.osp, t_both: d.t_both }));
result.osp_slower_than_tmpl = perDoc.filter((d) => d.osp > d.t_tmpl).length;
result.per_doc = perDoc;
const ratios = (k) => perDoc.map((d) => d[k] / d.osp);
result.per_doc_ratio = Object.fromEntries(['t_tmpl', 't_both'].map((k) => [k, { p1: pct(ratios(k), 0.01), p50: pct(ratios(k), 0.5), p99: pct(ratios(k), 0.99) }]));

const m = (k) => median(perRound.map((x) => x[k]));
console.log(`\nIn process, ${both.length} documents, ${rounds} interleaved rounds (median; range over rounds)`);
console.log(`  whole pass: osp Template + API ${m('osp_pass_ms').toFixed(2)} ms (borrowed document, as the sidecar: ${m('osp_borrowed_pass_ms').toFixed(2)} ms); TeraSky Template ${m('t_tmpl_pass_ms').toFixed(2)} ms, Template + API ${m('t_both_pass_ms').toFixed(2)} ms`);
console.log(`  ratio vs TeraSky Template:       ${m('ratio_tmpl_pass').toFixed(1)}× (${range(perRound.map((x) => x.ratio_tmpl_pass))}), sum of per-doc medians ${m('ratio_tmpl_sum').toFixed(1)}×`);
console.log(`  ratio vs TeraSky Template + API: ${m('ratio_both_pass').toFixed(1)}× (${range(perRound.map((x) => x.ratio_both_pass))}), sum of per-doc medians ${m('ratio_both_sum').toFixed(1)}×`);
for (const [k, label] of [['osp', 'osp Template + API'], ['t_tmpl', 'TeraSky Template'], ['t_both', 'TeraSky Template + API']]) {
  const a = result.per_document[k].all; const s = result.per_document[k].under_50kb;
  console.log(`  ${label.padEnd(24)} per doc p50 ${a.p50_us.toFixed(1)} µs, p99 ${a.p99_us.toFixed(1)} µs, max ${a.max_us.toFixed(0)} µs, ${a.us_per_kb.toFixed(2)} µs/KB (per-doc median ${a.us_per_kb_p50.toFixed(2)}); under 50 KB (${s.n}): p50 ${s.p50_us.toFixed(1)} µs, p99 ${s.p99_us.toFixed(1)} µs, ${s.us_per_kb.toFixed(2)} µs/KB`);
}
const ph = (side, k) => median(rs.map((x) => x[side].phases[k])) / 1e6;
result.phases = {
  osp: { parse_ms: ph('o', 'parse_ns'), convert_ms: m('osp_pass_ms'), dump_ms: ph('o', 'dump_ns'), entities: rs[0].o.phases.entities, files: rs[0].o.phases.files, bytes: rs[0].o.phases.bytes },
  terasky: { parse_ms: ph('t', 'parse_ns'), convert_ms: m('t_both_pass_ms'), dump_ms: ph('t', 'dump_ns'), entities: rs[0].t.phases.entities },
};
result.floors = { copy_ms: ph('o', 'copy_ns'), json_ms: ph('o', 'json_ns'), t_tmpl_tenth_ms: m('t_tmpl_pass_ms') / 10 };
console.log(`  floors for any owned output (same documents): a deep copy ${result.floors.copy_ms.toFixed(2)} ms + compact JSON text ${result.floors.json_ms.toFixed(2)} ms, against 1/10 of TeraSky's Template step ${result.floors.t_tmpl_tenth_ms.toFixed(2)} ms`);
for (const [k, label] of [['osp', 'osp'], ['terasky', 'TeraSky']]) {
  const p = result.phases[k];
  console.log(`  steps in process over the same ${rs[0].o.phases.files} files (${(rs[0].o.phases.bytes / 1024).toFixed(0)} KB): ${label.padEnd(7)} parse ${p.parse_ms.toFixed(2)} ms, convert ${p.convert_ms.toFixed(2)} ms, write YAML ${p.dump_ms.toFixed(2)} ms (${p.entities} entities)`);
}
for (const [k, label] of [['t_tmpl', 'Template'], ['t_both', 'Template + API']]) {
  const q = result.per_doc_ratio[k];
  console.log(`  per document, TeraSky ${label} ÷ osp: p1 ${q.p1.toFixed(2)}×, median ${q.p50.toFixed(2)}×, p99 ${q.p99.toFixed(2)}×`);
}
console.log(`  documents where osp is slower than TeraSky's Template + API: ${result.osp_slower.length}; than its Template alone: ${result.osp_slower_than_tmpl}`);

// --- end to end
function timed(cmd, args, outFile) {
  const out = openSync(outFile, 'w');
  const t0 = process.hrtime.bigint();
  const p = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { cwd: here, stdio: ['ignore', out, 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(out);
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(p.stderr)?.[1]) / 1024;
  return { ms, rss_mib: rss, status: p.status, stderr: p.stderr };
}
if (process.env.ANCHORS_SKIP_E2E !== '1') {
  if (!existsSync(ospBin)) throw new Error(`${ospBin} missing: cargo build --release -p osp-sidecar --bin osp`);
  const ten = join(scratch, 'x10');
  for (let i = 0; i < 10; i++) cpSync(dir, join(ten, `copy${i}`), { recursive: true });
  // The same comparison over only the files whose XRDs both tools convert.
  const bothSet = new Set(both);
  const byFile = {};
  for (const d of tList.docs) (byFile[d.id.slice(0, d.id.indexOf('#'))] ??= []).push(d.id);
  const common = join(scratch, 'common');
  const commonTen = join(scratch, 'common-x10');
  const commonFiles = Object.entries(byFile).filter(([, ids]) => ids.every((id) => bothSet.has(id))).map(([rel]) => rel);
  for (const rel of commonFiles) {
    cpSync(join(dir, rel), join(common, rel));
    for (let i = 0; i < 10; i++) cpSync(join(dir, rel), join(commonTen, `copy${i}`, rel));
  }
  result.common_files = commonFiles.length;
  result.e2e = {};
  console.log(`\nEnd to end (${e2eRounds} alternating runs each; median wall, max peak RSS); "common" = the ${commonFiles.length} files whose XRDs both convert`);
  for (const [label, d] of [['1x', dir], ['10x', ten], ['1x common', common], ['10x common', commonTen]]) {
    const o = []; const t = [];
    for (let r = 0; r < e2eRounds; r++) {
      o.push(timed(ospBin, ['convert', d], join(scratch, 'osp.yaml')));
      t.push(timed(node, ['terasky-e2e.mjs', d], join(scratch, 't.yaml')));
    }
    const count = (f) => readFileSync(f, 'utf8').split('\n').filter((l) => l === '---').length;
    const tStats = JSON.parse(t.at(-1).stderr.split('\n').find((l) => l.startsWith('{')));
    const e = {
      osp_ms: median(o.map((x) => x.ms)), osp_rss_mib: Math.max(...o.map((x) => x.rss_mib)), osp_exit: o[0].status,
      osp_entities: count(join(scratch, 'osp.yaml')),
      t_ms: median(t.map((x) => x.ms)), t_rss_mib: Math.max(...t.map((x) => x.rss_mib)), t_entities: count(join(scratch, 't.yaml')),
      t_stats: tStats, osp_ms_all: o.map((x) => x.ms), t_ms_all: t.map((x) => x.ms),
    };
    e.ratio = e.t_ms / e.osp_ms;
    e.ratio_excluding_plugin_load = (e.t_ms - tStats.plugin_load_ms) / e.osp_ms;
    result.e2e[label] = e;
    console.log(`  ${label}: osp ${e.osp_ms.toFixed(0)} ms, peak RSS ${e.osp_rss_mib.toFixed(1)} MiB, ${e.osp_entities} entities (exit ${e.osp_exit}); TeraSky ${e.t_ms.toFixed(0)} ms (plugin load ${tStats.plugin_load_ms.toFixed(0)} ms), peak RSS ${e.t_rss_mib.toFixed(1)} MiB, ${e.t_entities} entities; ratio ${e.ratio.toFixed(1)}× (${e.ratio_excluding_plugin_load.toFixed(1)}× without the plugin's load)`);
  }
}
if (process.env.ANCHORS_OUT) writeFileSync(process.env.ANCHORS_OUT, JSON.stringify(result, null, 2));
rmSync(scratch, { recursive: true, force: true });
