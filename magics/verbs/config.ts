// `%lakebase config`: show and change the session settings (settings.ts declares them).
import type { VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import { TableOutput, TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { formatSettingValue, SETTINGS } from '../settings';

export const configFamily: VerbFamily<MagicServices> = {
  name: 'config',
  summary: 'Settings',
  kernelOnly: true,
  verbs: [
    {
      name: 'config',
      summary: 'Show or change a setting of this kernel session (e.g. display-limit)',
      positionals: [
        { name: 'SETTING', summary: 'the setting to show or change; all when left out', optional: true, completes: 'settings' },
        { name: 'VALUE', summary: 'its new value', optional: true },
      ],
      options: [{ name: 'reset', kind: 'flag', summary: 'Set the setting back to its default' }],
      details: [
        `The settings: ${SETTINGS.map((setting) => `${setting.name} (default ${formatSettingValue(setting.default)}): ${setting.summary}`).join('; ')}.`,
      ],
      examples: ['%lakebase config', '%lakebase config display-limit 20', '%lakebase config display-limit all', '%lakebase config display-limit --reset'],
      async run({ invocation, services }) {
        const [name, value] = invocation.positionals;
        const reset = invocation.options.reset === true;
        const { settings } = services;
        if (name === undefined) {
          if (reset) {
            throw new MagicUsageError(MAGIC_ERRORS.missingArgument, 'config --reset needs the SETTING to reset', {
              line: invocation.source.line,
              hint: 'Example: %lakebase config display-limit --reset',
            });
          }
          return new TableOutput(
            ['setting', 'value', 'default', 'what it does'],
            settings
              .list()
              .map(({ declaration, value: current }) => [
                declaration.name,
                formatSettingValue(current),
                formatSettingValue(declaration.default),
                declaration.summary,
              ]),
            'No settings.',
          );
        }
        if (reset && value !== undefined) {
          throw new MagicUsageError(MAGIC_ERRORS.conflictingOptions, 'config: give either a VALUE or --reset, not both', {
            line: invocation.source.line,
          });
        }
        if (reset) return new TextOutput(`${name} = ${formatSettingValue(settings.reset(name))} (the default)`);
        if (value !== undefined) return new TextOutput(`${name} = ${formatSettingValue(settings.set(name, value))}`);
        return new TextOutput(`${name} = ${formatSettingValue(settings.get(name))}`);
      },
    },
  ],
};
