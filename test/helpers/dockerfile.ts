/**
 * A small Dockerfile reader for the tests that check the project's Dockerfiles (no Docker engine
 * on test machines): stages and their instructions. Hand-written because the instructions these
 * tests read (FROM, ARG, LABEL, USER, EXPOSE, ENTRYPOINT, CMD) need only a line split, and no
 * maintained npm parser covers BuildKit's syntax better than that.
 */
export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions per stage, comment lines dropped first (they may sit inside a `\` continuation), then continuations joined. */
export function parseStages(text: string): Stage[] {
  const lines = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = rest.filter((word) => !word.startsWith('--'));
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return stages;
}

/** The default of `ARG name=value` in a stage. */
export function argDefault(stage: Stage, name: string): string | undefined {
  const arg = stage.instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith(`${name}=`));
  return arg?.args.slice(name.length + 1).replace(/^"|"$/g, '');
}

export function labelsOf(stage: Stage): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const i of stage.instructions.filter((each) => each.keyword === 'LABEL')) {
    for (const [, key = '', value = ''] of i.args.matchAll(/([\w.-]+)="([^"]*)"/g)) labels[key] = value;
  }
  return labels;
}

/** The JSON (exec) form of the last `keyword` instruction, or undefined for the shell form. */
export function execForm(stage: Stage, keyword: string): string[] | undefined {
  const args = stage.instructions.filter((i) => i.keyword === keyword).pop()?.args;
  try {
    const parsed = JSON.parse(args ?? '') as unknown;
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}
