import path from 'node:path';
import { projectRoot } from '../embedded/project-root.js';

/** Where `npm run build` writes the prebuilt workflow bundle (git-ignored), resolved from the project root. */
export function workflowBundlePath(): string {
  return path.join(projectRoot(), 'dist', 'workflow-bundle.js');
}
