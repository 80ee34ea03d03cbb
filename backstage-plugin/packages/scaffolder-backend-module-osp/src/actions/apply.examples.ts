import type { TemplateExample } from '@backstage/plugin-scaffolder-node';
import { stringify } from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Apply a claim directly to the cluster',
    example: stringify({
      steps: [
        {
          id: 'apply',
          action: 'osp:claim:apply',
          name: 'Apply the claim',
          input: {
            definition: 'xpostgresqlinstances.database.example.org',
            name: '${{ parameters.name }}',
            namespace: '${{ parameters.namespace }}',
            owner: '${{ parameters.owner }}',
            values: { parameters: { storageGB: '${{ parameters.storageGB }}' } },
            cluster: 'dev',
          },
        },
      ],
    }),
  },
  {
    description: 'Validate against the cluster without persisting (server-side dry-run)',
    example: stringify({
      steps: [
        {
          id: 'apply',
          action: 'osp:claim:apply',
          name: 'Check the claim',
          input: {
            definition: 'xpostgresqlinstances.database.example.org',
            name: 'orders-db',
            namespace: 'team-a',
            owner: 'group:default/team-a',
            values: { parameters: { storageGB: 20 } },
            dryRun: true,
          },
        },
      ],
    }),
  },
];
