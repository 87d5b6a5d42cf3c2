/**
 * What a command needs that cmd.exe or PowerShell lacks. A user-facing command (an npm script, a `$ `
 * line of a lab page) must start the same way in cmd.exe, PowerShell and a POSIX shell: no bash, no
 * shell variables or substitutions, no `VAR=value cmd`, no background `&`, no `;`/`&&`/`||` chains
 * (PowerShell 5 has no `&&`), no single-quoted arguments (cmd.exe keeps the quotes), no redirection
 * (PowerShell 5 writes `>` as UTF-16; `<` does not exist there), no POSIX-only programs or paths.
 * `<NAME>` placeholders (a value the reader types in) are not redirections.
 */
const RULES: [RegExp, string][] = [
  [/(^|\s)(bash|sh|zsh)(\s|$)/, 'runs a POSIX shell'],
  [/\$\{?[A-Za-z_]/, 'expands a shell variable'],
  [/\$\(|`/, 'uses command substitution'],
  [/^\s*[A-Za-z_]\w*=\S*\s/, 'sets an environment variable with VAR=value (not in cmd.exe or PowerShell)'],
  [/(^|[^&])&(\s*$|\s+[^&])/, 'runs in the background with &'],
  [/;|&&|\|\|/, 'chains commands (; && ||)'],
  [/'/, "quotes with ' (cmd.exe passes the quotes on)"],
  [/[<>]/, 'redirects input or output'],
  [/(^|[\s|(])(printf|tee|sleep|kill|mktemp|export|grep|sed|awk|head|tail|cat|rm|cp|mv|xargs|source|chmod|which|env|test|true|false|curl)(\s|$)/, 'runs a program cmd.exe/PowerShell lacks (or, for curl, one PowerShell 5 aliases)'],
  [/\/dev\/|\/tmp\/|~\//, 'uses a POSIX-only path'],
  [/\\$/, 'continues the line with \\'],
];

/** Why the command needs a POSIX shell; empty when it does not. */
export function posixNeeds(cmd: string): string[] {
  const c = cmd.replace(/<[A-Za-z][\w -]*>/g, 'X');
  return RULES.filter(([re]) => re.test(c)).map(([, why]) => why);
}

/** The `$ ` lines of every fenced block of a Markdown page. */
export function fencedCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/```[\w-]*\n([\s\S]*?)```/g)) for (const l of m[1].split('\n')) if (l.startsWith('$ ')) out.push(
    l.slice(2).trim());
  return out;
}
