export * from "./kube/catalog.js";
