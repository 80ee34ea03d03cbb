/**
 * Scaffolder form fields for the Open Service Portal's generated Templates:
 * `ui:field: OspYamlEditor`, a YAML/JSON editor for free-form objects.
 *
 * New frontend system: the default export, a module of the `scaffolder`
 * plugin. Legacy frontend system: {@link ospYamlEditorFieldOptions} for
 * `scaffolderPlugin.provide(createScaffolderFieldExtension(...))`.
 *
 * @packageDocumentation
 */
import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';

/**
 * Registers `OspYamlEditor` with the scaffolder's form (extension
 * `scaffolder-form-field:scaffolder/osp-yaml-editor`).
 *
 * @public
 */
export const ospYamlEditorFormField = FormFieldBlueprint.make({
  name: 'osp-yaml-editor',
  params: {
    field: () => import('./formField').then(m => m.ospYamlEditorField),
  },
});

/**
 * The `scaffolder` plugin module with the OSP form fields, for
 * `createApp({ features: [...] })`.
 *
 * @public
 */
const scaffolderModuleOsp = createFrontendModule({
  pluginId: 'scaffolder',
  extensions: [ospYamlEditorFormField],
});

export default scaffolderModuleOsp;

export {
  OSP_YAML_EDITOR_FIELD_NAME,
  OspYamlEditor,
  ospYamlEditorFieldOptions,
  ospYamlEditorValidation,
} from './OspYamlEditor';
export type {
  OspYamlEditorProps,
  OspYamlEditorUiOptions,
  OspYamlEditorValue,
} from './OspYamlEditor';
export { OSP_YAML_EDITOR_INVALID_TEXT } from './yamlValue';
export type { JsonValue } from './yamlValue';
