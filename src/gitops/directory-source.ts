/**
 * Desired state from a plain directory (no Git: no commit, file hashes still recorded).
 * Symlinks are never followed: neither for directories nor files, and a file is opened with
 * O_NOFOLLOW so a symlink swapped in after the listing is refused too. Sizes are checked on the
 * open descriptor before anything is read.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { ManifestSink } from './manifest-sink.js';
import { DesiredSourceError } from './source-error.js';
import { comparePaths, decodePathBytes, isManifestPath, NON_UTF8_NAME_REASON } from './source-files.js';

// Typed as numbers, but Windows defines neither flag.
const OPEN_FLAGS =
  constants.O_RDONLY |
  ((constants.O_NOFOLLOW as number | undefined) ?? 0) |
  ((constants.O_NONBLOCK as number | undefined) ?? 0);

/** The real root, and the start directory (root + sub-path) after checking it holds no symlink. */
async function startDirectory(root: string, subPath: string): Promise<{ realRoot: string; start: string }> {
  let realRoot: string;
  try {
    realRoot = await fs.realpath(root);
  } catch (e) {
    throw new DesiredSourceError(`repository directory ${root} does not exist`, { cause: e });
  }
  let cur = realRoot;
  for (const seg of subPath ? subPath.split('/') : []) {
    cur = path.join(cur, seg);
    let st;
    try {
      st = await fs.lstat(cur);
    } catch (e) {
      throw new DesiredSourceError(`path '${subPath}' does not exist in ${root}`, { cause: e });
    }
    if (st.isSymbolicLink()) {
      throw new DesiredSourceError(
        `path '${subPath}' goes through a symbolic link ('${path.relative(realRoot, cur)}'); refused`,
      );
    }
  }
  return { realRoot, start: cur };
}

/** Report every manifest file under `root/subPath` to the sink (paths relative to `root`). */
export async function readDirectoryTree(
  root: string,
  subPath: string,
  maxFileBytes: number,
  sink: ManifestSink,
): Promise<void> {
  const { realRoot, start } = await startDirectory(root, subPath);
  const rel = (abs: string) => path.relative(realRoot, abs).split(path.sep).join('/');

  const st = await fs.lstat(start);
  if (st.isFile()) {
    if (isManifestPath(start)) await readOne(start, rel(start), maxFileBytes, sink);
    return;
  }
  if (!st.isDirectory()) throw new DesiredSourceError(`path '${subPath}' is neither a directory nor a file`);

  const walk = async (dir: string): Promise<void> => {
    // Names as bytes: one that is not UTF-8 is refused by its escaped name, never read under a lossy one.
    const entries = (await fs.readdir(dir, { withFileTypes: true, encoding: 'buffer' })).map((ent) => ({
      ent,
      name: decodePathBytes(ent.name),
    }));
    entries.sort((a, b) => comparePaths(a.name.path, b.name.path));
    for (const { ent, name } of entries) {
      const abs = path.join(dir, name.path);
      const relPath = rel(abs);
      if (!name.valid) {
        if (ent.isDirectory())
          sink.refuse(
            relPath,
            'refused: the directory name is not valid UTF-8 (invalid bytes shown as \\xNN); its files are not read, rename it',
          );
        else if (isManifestPath(name.path)) sink.refuse(relPath, NON_UTF8_NAME_REASON);
      } else if (ent.isSymbolicLink()) {
        sink.refuse(relPath, 'refused: symbolic link (symlinks are never followed)');
      } else if (ent.isDirectory()) {
        // A work tree's own repository (`--local` at a checkout's root) is never content: Git reads none of it.
        if (name.path !== '.git') await walk(abs);
      } else if (!isManifestPath(name.path)) {
        continue;
      } else if (!ent.isFile()) {
        sink.refuse(relPath, 'refused: not a regular file');
      } else {
        await readOne(abs, relPath, maxFileBytes, sink);
      }
    }
  };
  await walk(start);
}

async function readOne(abs: string, relPath: string, maxFileBytes: number, sink: ManifestSink): Promise<void> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(abs, OPEN_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    sink.refuse(
      relPath,
      code === 'ELOOP'
        ? 'refused: symbolic link (symlinks are never followed)'
        : `cannot open: ${code ?? (e as Error).message}`,
    );
    return;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      sink.refuse(relPath, 'refused: not a regular file');
      return;
    }
    if (st.size > maxFileBytes) {
      sink.refuse(relPath, `refused: file is ${st.size} bytes, over the limit of ${maxFileBytes} bytes`);
      return;
    }
    const bytes = await fh.readFile();
    if (bytes.length > maxFileBytes) {
      sink.refuse(relPath, `refused: file is over the limit of ${maxFileBytes} bytes`);
      return;
    }
    sink.file(relPath, bytes);
  } catch (e) {
    sink.refuse(relPath, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    await fh.close();
  }
}
