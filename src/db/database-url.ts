/** Where the ledger's database URL comes from, and how to show it without its password. */

/** The configured URL: explicit argument, else HH_SYNC_DATABASE_URL, else DATABASE_URL; undefined = use the embedded database. */
export function resolveDatabaseUrl(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return explicit || env.HH_SYNC_DATABASE_URL || env.DATABASE_URL || undefined;
}

/** The URL with any password replaced by '***', safe for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of ['password', 'sslpassword']) {
      if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    // Not a URL we can parse: hide anything between ':' and '@' in the authority.
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}
