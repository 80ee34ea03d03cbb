import type { TemplateExample } from '@backstage/plugin-scaffolder-node';
import { stringify } from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Render a PostgreSQL claim from the form values',
    example: stringify({
      steps: [
        {
          id: 'render',
          action: 'osp:claim:render',
          name: 'Render the claim',
          input: {
            definition: 'xpostgresqlinstances.database.example.org',
            name: '${{ parameters.name }}',
            namespace: '${{ parameters.namespace }}',
            owner: '${{ parameters.owner }}',
            values: { parameters: { storageGB: '${{ parameters.storageGB }}' } },
          },
        },
      ],
    }),
  },
  {
    description: 'Render with a chosen composition on a given cluster',
    example: stringify({
      steps: [
        {
          id: 'render',
          action: 'osp:claim:render',
          name: 'Render the claim',
          input: {
            definition: 'xpostgresqlinstances.database.example.org',
            name: 'orders-db',
            namespace: 'team-a',
            owner: 'group:default/team-a',
            values: { parameters: { storageGB: 20 } },
            composition: {
              compositionName: 'xpostgresqlinstances.aws.database.example.org',
              updatePolicy: 'Automatic',
              connectionSecretName: 'orders-db-conn',
            },
            templateRef: 'template:default/xpostgresqlinstances',
            cluster: 'prod',
          },
        },
      ],
    }),
  },
];
