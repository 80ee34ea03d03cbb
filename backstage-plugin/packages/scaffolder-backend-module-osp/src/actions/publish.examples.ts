import type { TemplateExample } from '@backstage/plugin-scaffolder-node';
import { stringify } from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Open a pull request with the rendered claim (or commit on a local Git branch)',
    example: stringify({
      steps: [
        {
          id: 'publish',
          action: 'osp:claim:publish',
          name: 'Open a pull request',
          input: {
            repoUrl: '${{ parameters.repoUrl }}',
            manifest: '${{ steps.render.output.manifest }}',
            path: '${{ steps.render.output.path }}',
            idempotencyKey: '${{ steps.render.output.idempotencyKey }}',
            title: 'Create ${{ steps.render.output.kind }} ${{ parameters.name }}',
          },
        },
      ],
      output: {
        // Only a forge opens a pull request; a local Git target commits on a branch.
        links: [
          {
            title: 'Pull request',
            icon: 'github',
            url: '${{ steps.publish.output.changeUrl }}',
            if: "${{ steps.publish.output.changeKind == 'pull-request' }}",
          },
        ],
        text: [
          {
            title: 'Local Git commit',
            content: 'Committed `${{ steps.publish.output.commit }}` on branch `${{ steps.publish.output.branch }}`.',
            if: "${{ steps.publish.output.changeKind == 'local-branch' }}",
          },
        ],
      },
    }),
  },
  {
    description: 'Open a draft pull request with labels and reviewers, listing the file in its kustomization.yaml',
    example: stringify({
      steps: [
        {
          id: 'publish',
          action: 'osp:claim:publish',
          name: 'Open a pull request',
          input: {
            repoUrl: 'github.com?owner=acme&repo=platform-claims',
            manifest: '${{ steps.render.output.manifest }}',
            path: '${{ steps.render.output.path }}',
            idempotencyKey: '${{ steps.render.output.idempotencyKey }}',
            baseBranch: 'main',
            draft: true,
            labels: ['osp', 'claim'],
            reviewers: ['platform-oncall'],
            description: 'Requested through Backstage.',
            // Flux/Argo CD apply the folder's kustomization.yaml: list the file there.
            updateKustomization: true,
          },
        },
      ],
    }),
  },
];
