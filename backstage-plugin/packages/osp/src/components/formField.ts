// The field for the new frontend system, loaded lazily by the plugin.
import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { OSP_CLAIM_PREVIEW_FIELD_NAME, OspClaimPreview } from './OspClaimPreview';

/** The `OspClaimPreview` form field (new frontend system). @public */
export const ospClaimPreviewField = createFormField({
  name: OSP_CLAIM_PREVIEW_FIELD_NAME,
  component: OspClaimPreview,
});
