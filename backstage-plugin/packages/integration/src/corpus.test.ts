/**
 * Every Template the sidecar generates from the shared corpus passes
 * Backstage's own entity and template validation, and every parameter page
 * compiles with ajv the way the scaffolder's form (rjsf) compiles it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  apiEntityV1alpha1Validator,
  type Entity,
} from '@backstage/catalog-model';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { validate as jsonschemaValidate } from 'jsonschema';
import { parseAllDocuments } from 'yaml';
import { describeOrSkip, hasOspBin, ospBin } from './sidecar';

const corpus = process.env.OSP_CORPUS ?? resolve(__dirname, '../../../../../shared/corpus');
const dirs = ['xrd', 'rgd', 'promise'];

// The catalog's default policies for every entity it stores.
const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

/** ajv as @rjsf/validator-ajv8 sets it up for the scaffolder's forms. */
function formAjv() {
  const ajv = new Ajv({
    allErrors: true,
    multipleOfPrecision: 8,
    strict: false,
    verbose: true,
    discriminator: false,
  });
  addFormats(ajv);
  ajv.addFormat('data-url', /^data:([a-z]+\/[a-z0-9-+.]+)?;(?:name=(.*);)?base64,(.*)$/);
  ajv.addFormat('color', /^(#?([0-9A-Fa-f]{3}){1,2}\b|aqua|black|blue|fuchsia|gray|green|lime|maroon|navy|olive|orange|purple|red|silver|teal|white|yellow|(rgb\(\s*\b([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\b\s*,\s*\b([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\b\s*,\s*\b([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\b\s*\))|(rgb\(\s*(\d?\d%|100%)+\s*,\s*(\d?\d%|100%)+\s*,\s*(\d?\d%|100%)+\s*\)))$/);
  ajv.addKeyword('__additional_property');
  ajv.addKeyword('__rjsf_additionalProperties');
  return ajv;
}

function convert(dir: string): { entities: Entity[]; stderr: string; status: number | null } {
  const out = spawnSync(ospBin, ['convert', dir], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const entities = parseAllDocuments(out.stdout)
    .map(d => d.toJS() as Entity)
    .filter(e => e && typeof e === 'object');
  return { entities, stderr: out.stderr, status: out.status };
}

async function problemsOf(entity: Entity): Promise<string[]> {
  const problems: string[] = [];
  const name = `${entity.kind}:${entity.metadata?.name}`;
  try {
    await policy.enforce(structuredClone(entity));
  } catch (e) {
    problems.push(`${name}: catalog policy: ${(e as Error).message}`);
  }
  if (entity.kind === 'API') {
    try {
      await apiEntityV1alpha1Validator.check(entity);
    } catch (e) {
      problems.push(`${name}: API validation: ${(e as Error).message}`);
    }
    return problems;
  }
  if (entity.kind !== 'Template') {
    return problems;
  }
  try {
    if (!(await templateEntityV1beta3Validator.check(entity))) {
      problems.push(`${name}: not a scaffolder.backstage.io/v1beta3 Template`);
    }
  } catch (e) {
    problems.push(`${name}: template validation: ${(e as Error).message}`);
  }
  const pages = [(entity.spec as { parameters?: unknown })?.parameters ?? []].flat() as object[];
  pages.forEach((page, i) => {
    try {
      formAjv().compile(page);
    } catch (e) {
      problems.push(`${name}: parameters[${i}] does not compile with ajv: ${(e as Error).message}`);
    }
    try {
      // What the scaffolder backend runs on submitted values.
      jsonschemaValidate({}, page, { throwError: false });
    } catch (e) {
      problems.push(`${name}: parameters[${i}] breaks jsonschema: ${(e as Error).message}`);
    }
  });
  return problems;
}

describeOrSkip(
  hasOspBin && existsSync(corpus),
  hasOspBin ? `corpus not found at ${corpus} (set OSP_CORPUS)` : `osp binary not found at ${ospBin}`,
  'templates generated from the corpus',
  () => {
  jest.setTimeout(300_000);

  it.each(dirs.filter(d => existsSync(join(corpus, d))))(
    'every Template and API from %s/ is valid for Backstage',
    async dir => {
      const { entities, stderr } = convert(join(corpus, dir));
      const templates = entities.filter(e => e.kind === 'Template');
      // eslint-disable-next-line no-console
      console.log(
        `${dir}/: ${templates.length} templates, ${entities.length - templates.length} other entities` +
          (stderr.trim() ? `; rejected documents:\n${stderr.trim()}` : ''),
      );
      expect(templates.length).toBeGreaterThan(0);
      const problems = (await Promise.all(entities.map(problemsOf))).flat();
      expect(problems).toEqual([]);
    },
  );
  },
);
