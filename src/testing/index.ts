export * from './fake-kube-api.js';
export * from './git-repo.js';
export * from './sample-fabric.js';
