// Which project a linted file belongs to. The evidence matched by name across files (a trim such as
// `x.jobs.pop()`, a class made per call) only counts within one project: in a folder of unrelated
// checkouts, one project's `.jobs.pop()` says nothing about another's `jobs`, and its `Config()`
// is another class.
import fs from "node:fs";
import path from "node:path";
import { nearestFolder } from "./config.js";

/** What marks the top folder of a Python project. */
export const PROJECT_MARKERS = ["pyproject.toml", "setup.py", "setup.cfg", ".git"];

export interface Project {
  folder: string;
  /** False: no marker says where the project starts; `folder` is the path given. */
  marked: boolean;
}

/**
 * A function from a file to its project, for files found under `roots` (the paths given on
 * the command line, absolute).
 * - A path given inside a project (a marker in it or in a folder above): that whole project, so two
 *   paths of one project (`src scripts`) share their evidence.
 * - A folder of projects (no marker in it or above): each project is the outermost marked folder
 *   below it that holds the file; files in no marked folder share the path given.
 * - A file of an installed distribution (below `site-packages` or `dist-packages`): the entry there
 *   that holds it, whatever the path given or the markers around.
 */
export function projectOf(roots: string[]): (file: string) => Project {
  const marked = new Map<string, boolean>();
  const hasMarker = (dir: string): boolean => {
    let m = marked.get(dir);
    if (m === undefined) marked.set(dir, (m = PROJECT_MARKERS.some((name) => fs.existsSync(path.join(dir, name)))));
    return m;
  };
  // Each path given: the folder its files' projects are looked for from, and the project it is in.
  const tops = new Map(roots.map((r) => [r, isFile(r) ? path.dirname(r) : r]));
  const above = new Map([...new Set(tops.values())].map((top) => [top, nearestFolder(top, hasMarker)]));
  // Longest first, so a path given inside another given path wins.
  const sorted = [...roots].sort((a, b) => b.length - a.length);
  return (file: string): Project => {
    const installed = installedProject(file);
    if (installed) return { folder: installed, marked: false };
    const root = sorted.find((r) => file === r || file.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
    const top = root === undefined ? path.dirname(file) : tops.get(root)!;
    const project = above.has(top) ? above.get(top) : nearestFolder(top, hasMarker);
    if (project) return { folder: project, marked: true };
    const rel = path.relative(top, path.dirname(file));
    let dir = top;
    for (const part of rel && !rel.startsWith("..") ? rel.split(path.sep) : []) {
      dir = path.join(dir, part);
      if (hasMarker(dir)) return { folder: dir, marked: true };
    }
    return { folder: top, marked: false };
  };
}

/** Folders of installed distributions, each entry its own project. */
const INSTALLED = new Set(["site-packages", "dist-packages"]);

/** For a file below `site-packages` or `dist-packages`: the entry there that holds it (a package's
 *  folder, or a module's own file). Installed distributions are separate projects with no markers:
 *  one package's `demo()` called somewhere is no evidence for another's. */
function installedProject(file: string): string | undefined {
  const parts = file.split(path.sep);
  for (let i = parts.length - 2; i >= 0; i--) {
    if (INSTALLED.has(parts[i]!)) return parts.slice(0, i + 2).join(path.sep);
  }
  return undefined;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
