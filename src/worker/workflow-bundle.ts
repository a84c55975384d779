import path from 'node:path';
import { projectRoot } from '../embedded/project-root.js';

/** The prebuilt workflow bundle `npm run build` writes (git-ignored). */
export const WORKFLOW_BUNDLE_PATH = (): string => path.join(projectRoot(), 'dist', 'workflow-bundle.js');
