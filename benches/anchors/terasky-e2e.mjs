// TeraSky's end to end over a directory, the counterpart of `osp convert DIR`:
// read every .yaml/.yml file, parse it (js-yaml, as the plugin does), convert
// each XRD the plugin would list to its Templates and APIs with the plugin's
// own methods, and write every entity to stdout as a YAML stream. Counts go
// to stderr as one JSON line. Usage: node terasky-e2e.mjs DIR > out.yaml
import { readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decorate, listedByPlugin, loadPlugin, yamlFiles } from './terasky.mjs';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml');

const t0 = process.hrtime.bigint();
const { provider, loadNs } = loadPlugin();
const stats = { files: 0, unparsable: 0, xrds: 0, not_listed: 0, threw: 0, entities: 0 };
const entities = [];
for (const p of yamlFiles(process.argv[2])) {
  stats.files += 1;
  let docs;
  try {
    docs = yaml.loadAll(readFileSync(p, 'utf8'));
  } catch {
    stats.unparsable += 1;
    continue;
  }
  for (const doc of docs) {
    if (doc?.kind !== 'CompositeResourceDefinition') continue;
    stats.xrds += 1;
    if (listedByPlugin(doc)) {
      stats.not_listed += 1;
      continue;
    }
    const x = decorate(doc);
    try {
      // In the plugin one throw aborts the whole run; here it skips the XRD.
      const made = [...provider.translateXRDVersionsToTemplates(x), ...provider.translateXRDVersionsToAPI(x)];
      entities.push(...made);
    } catch {
      stats.threw += 1;
    }
  }
}
for (const e of entities) {
  // skipInvalid drops `undefined` values, as the catalog's JSON would.
  writeSync(1, `---\n${yaml.dump(e, { skipInvalid: true })}`);
}
stats.entities = entities.length;
stats.plugin_load_ms = Number(loadNs) / 1e6;
stats.total_ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stderr.write(`${JSON.stringify(stats)}\n`);
