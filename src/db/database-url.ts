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

/** `host:port` of a database URL, for messages (never the user or password). */
export function databaseServer(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
  } catch {
    return 'the database server';
  }
}

/** The database name of a URL (PostgreSQL's default: the user name, else "postgres"). */
export function databaseName(url: string): string {
  try {
    const parsed = new URL(url);
    const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    return name || decodeURIComponent(parsed.username) || 'postgres';
  } catch {
    return 'postgres';
  }
}

/** Every occurrence of the URL (and of its password) in a message, replaced by the redacted form. */
export function maskDatabaseUrl(message: string, url: string): string {
  let masked = message.split(url).join(redactDatabaseUrl(url));
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password.length >= 3) masked = masked.split(password).join('***');
  } catch {
    // not a URL: nothing more to mask
  }
  return masked;
}
