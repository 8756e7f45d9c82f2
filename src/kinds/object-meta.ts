/**
 * The metadata of a fabric object. The CRDs declare `metadata` as a bare object (the API server owns its schema), so
 * this is written by hand: what a manifest sets, then what the server fills in. No index signature, so a misspelled
 * field (`lables`) is a type error rather than a silently pruned one.
 */
export interface FabricObjectMeta {
  /** The object's name (DNS-1123), unique per kind within the namespace. */
  name: string;
  /** The namespace; a manifest without one lands in the fabric's namespace (usually `default`). */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set by the API server; a draft leaves them out. */
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: FabricOwnerReference[];
}

/** An owner of an object (the API server deletes the object when its controller owner goes). */
export interface FabricOwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}
