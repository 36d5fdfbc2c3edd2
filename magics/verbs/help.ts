// `%lakebase help [VERB]`: the text comes from the declarations (magics/help.ts).
import type { VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import { groupActions } from '../grammar';
import { groupHelp, overviewHelp, verbHelp } from '../help';
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
      positionals: [
        { name: 'VERB', summary: 'the verb, or the group of verbs (instance, role, ...), to explain', optional: true, completes: 'verbs' },
        { name: 'ACTION', summary: 'the action of a group to explain: %lakebase help instance create', optional: true, completes: 'actions' },
      ],
      options: [],
      examples: ['%lakebase help', '%lakebase help sql', '%lakebase help instance', '%lakebase help instance create'],
      async run({ invocation, services }) {
        const [name, action] = invocation.positionals;
        const registry = services.verbs;
        if (name === undefined) return new TextOutput(overviewHelp(registry));
        const unknown = (what: string, candidates: string[], kind: string) => {
          const near = closestMatch(what, candidates);
          return new MagicUsageError(MAGIC_ERRORS.unknownVerb, `there is no ${kind} "${what}"`, {
            line: invocation.source.line,
            hint: `${near === undefined ? '' : `Did you mean ${near}? `}They are ${candidates.join(', ')}.`,
          });
        };
        if (registry.isGroup(name)) {
          if (action === undefined) return new TextOutput(groupHelp(registry, name));
          const verb = registry.get(`${name} ${action}`);
          if (verb === undefined) throw unknown(action, groupActions(registry, name), `action of ${name}`);
          return new TextOutput(verbHelp(verb));
        }
        const verb = registry.get(name);
        if (verb === undefined) throw unknown(name, registry.words(), 'verb');
        if (action !== undefined) {
          throw new MagicUsageError(MAGIC_ERRORS.unexpectedArgument, `${name} has no actions; "${action}" is one word too many`, {
            line: invocation.source.line,
            hint: `Run %lakebase help ${name}.`,
          });
        }
        return new TextOutput(verbHelp(verb));
      },
    },
  ],
};
