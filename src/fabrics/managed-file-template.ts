/** The managed-file template of a fabric (where publish writes objects Git does not declare yet), checked. Pure. */

const TEMPLATE_PLACEHOLDERS = ['{plural}', '{kind}', '{namespace}', '{name}'];

/**
 * Why a managed-file template cannot be used, or null. Publish writes files inside the repository from it, so
 * it must stay there (relative, no `..`), name one file per object ({name}) and be YAML a desired sync reads.
 */
export function managedFileTemplateProblem(template: unknown): string | null {
  if (typeof template !== 'string') return `must be text, got ${typeof template}`;
  if (template.trim() === '') return 'must not be empty';
  if (!template.includes('{name}')) return 'must contain {name} (one file per object)';
  if (!/\.ya?ml$/.test(template)) return 'must end in .yaml or .yml';
  if (template.startsWith('/') || /^[A-Za-z]:/.test(template))
    return 'must be relative to the repository path, not absolute';
  if (template.includes('\\')) return "must use '/' between directories, not '\\'";
  if (template.split('/').includes('..')) return "must not contain '..' (it must stay inside the repository)";
  // eslint-disable-next-line no-control-regex -- control characters have no place in a file name
  if (/[\u0000-\u001f\u007f]/.test(template)) return 'must not contain control characters';
  const unknown = (template.match(/\{[^}]*\}/g) ?? []).filter((p) => !TEMPLATE_PLACEHOLDERS.includes(p));
  if (unknown.length) return `unknown placeholder ${unknown[0]} (known: ${TEMPLATE_PLACEHOLDERS.join(', ')})`;
  return null;
}
