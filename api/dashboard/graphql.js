// The page's only way to the server: POST /graphql with "Authorization: Bearer <key>",
// plus a compact view of the schema (introspection) so every widget can check that the
// fields it needs exist and degrade with a message instead of breaking the page.

export class ApiError extends Error {
  constructor(message, errors = []) {
    super(message);
    this.errors = errors;
  }
}

export class Client {
  constructor(endpoint, key) {
    this.endpoint = endpoint;
    this.key = key;
  }

  /** {data, errors}: GraphQL may answer some fields and fail others; callers decide. */
  async requestPartial(query, variables = {}) {
    let response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${this.key}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch (err) {
      throw new ApiError(`cannot reach the API: ${err.message}`);
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(`the API answered HTTP ${response.status} without JSON`);
    }
    return { data: body.data ?? null, errors: body.errors ?? [] };
  }

  /** The data, or an ApiError carrying every error message. */
  async request(query, variables = {}) {
    const { data, errors } = await this.requestPartial(query, variables);
    if (errors.length) throw new ApiError(errors.map((e) => e.message).join("; "), errors);
    return data;
  }
}

const TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";
const SCHEMA_QUERY = `query DashboardSchema {
  __schema {
    queryType { name }
    types {
      name kind
      fields { name description args { name defaultValue type { ${TYPE_REF} } } type { ${TYPE_REF} } }
      inputFields { name type { ${TYPE_REF} } }
      enumValues { name }
      possibleTypes { name }
    }
  }
}`;

/** What the server offers, read once per connection. */
export class Schema {
  static async load(client) {
    const data = await client.request(SCHEMA_QUERY);
    return new Schema(data.__schema);
  }

  constructor(raw) {
    this.types = new Map(raw.types.map((t) => [t.name, t]));
    this.query = this.types.get(raw.queryType.name);
  }

  type(name) {
    return name ? this.types.get(name) ?? null : null;
  }

  /** A field of a type (by type name or type object), or null. */
  field(type, name) {
    const t = typeof type === "string" ? this.type(type) : type;
    return t?.fields?.find((f) => f.name === name) ?? null;
  }

  arg(field, name) {
    return field?.args?.find((a) => a.name === name) ?? null;
  }

  inputField(typeName, name) {
    return this.type(typeName)?.inputFields?.find((f) => f.name === name) ?? null;
  }

  /** The type object a field's (possibly wrapped) type refers to. */
  fieldType(field) {
    return field ? this.type(namedType(field.type)) : null;
  }

  enumValues(typeRef) {
    return this.type(namedType(typeRef))?.enumValues?.map((v) => v.name) ?? [];
  }

  /** Concrete object types behind a type: itself, or an interface's or union's members. */
  concreteTypes(type) {
    if (!type) return [];
    if (type.kind === "OBJECT") return [type];
    return (type.possibleTypes ?? []).map((p) => this.type(p.name)).filter(Boolean);
  }
}

/** The innermost type name of a type reference: [Deal!]! -> Deal. */
export function namedType(ref) {
  let t = ref;
  while (t && !t.name) t = t.ofType;
  return t?.name ?? null;
}

/** A type reference as GraphQL writes it, for variable declarations: [ID!]. */
export function typeString(ref) {
  if (ref.kind === "NON_NULL") return `${typeString(ref.ofType)}!`;
  if (ref.kind === "LIST") return `[${typeString(ref.ofType)}]`;
  return ref.name;
}

/** Whether a field's type is a leaf (scalar or enum, possibly non-null or a list). */
export function isLeaf(ref) {
  let t = ref;
  while (t && !t.name) t = t.ofType;
  return t?.kind === "SCALAR" || t?.kind === "ENUM";
}
