export * from './fake-kube-api.js';
