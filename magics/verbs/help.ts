// `%lakebase help [VERB]`: the text comes from the declarations (magics/help.ts).
import type { VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import { overviewHelp, verbHelp } from '../help';
import { TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { closestMatch } from '../suggest';

export const helpFamily: VerbFamily<MagicServices> = {
  name: 'help',
  summary: 'Help',
  verbs: [
    {
      name: 'help',
      summary: 'Show the grammar and the verbs, or one verb\'s arguments, options and examples',
      positionals: [{ name: 'VERB', summary: 'the verb to explain', optional: true, completes: 'verbs' }],
      options: [],
      examples: ['%lakebase help', '%lakebase help sql'],
      async run({ invocation, services }) {
        const [name] = invocation.positionals;
        if (name === undefined) return new TextOutput(overviewHelp(services.verbs));
        const verb = services.verbs.get(name);
        if (verb === undefined) {
          const near = closestMatch(name, services.verbs.names());
          throw new MagicUsageError(MAGIC_ERRORS.unknownVerb, `there is no verb "${name}"`, {
            line: invocation.source.line,
            hint: `${near === undefined ? '' : `Did you mean ${near}? `}The verbs are ${services.verbs.names().join(', ')}.`,
          });
        }
        return new TextOutput(verbHelp(verb));
      },
    },
  ],
};
