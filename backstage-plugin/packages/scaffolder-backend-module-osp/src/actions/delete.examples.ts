import type { TemplateExample } from '@backstage/plugin-scaffolder-node';
import { stringify } from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: "Propose deleting a claim: a pull request that removes its manifest and kustomization entry",
    example: stringify({
      steps: [
        {
          id: 'delete',
          action: 'osp:claim:delete',
          name: 'Propose the deletion',
          input: {
            repoUrl: 'github.com?owner=acme&repo=platform-claims',
            path: 'clusters/default/team-a/postgresqlinstance/orders-db.yaml',
            idempotencyKey: 'claim/default/team-a/postgresqlinstance/orders-db',
            title: 'Delete orders-db',
          },
        },
      ],
    }),
  },
  {
    description: "Delete as the requesting user on GitLab (RepoUrlPicker with requestUserCredentials)",
    example: stringify({
      steps: [
        {
          id: 'delete',
          action: 'osp:claim:delete',
          name: 'Propose the deletion',
          input: {
            repoUrl: '${{ parameters.repoUrl }}',
            path: '${{ parameters.path }}',
            idempotencyKey: '${{ parameters.idempotencyKey }}',
            token: '${{ secrets.USER_OAUTH_TOKEN }}',
            entityRefs: ['${{ parameters.entityRef }}'],
          },
        },
      ],
    }),
  },
];
