// The field for the new frontend system, loaded lazily by the module.
import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import {
  OSP_YAML_EDITOR_FIELD_NAME,
  OspYamlEditor,
  ospYamlEditorValidation,
} from './OspYamlEditor';

/** The `OspYamlEditor` form field (new frontend system). @public */
export const ospYamlEditorField = createFormField({
  name: OSP_YAML_EDITOR_FIELD_NAME,
  component: OspYamlEditor,
  validation: ospYamlEditorValidation,
});
