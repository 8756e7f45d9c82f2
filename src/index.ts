export * from "./kube/catalog.js";
export * from "./entities/index.js";
export * from "./db/index.js";
export * from "./kube/index.js";
