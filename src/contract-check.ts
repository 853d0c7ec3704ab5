/**
 * Compares the served schema with the public contract (../shared/api/contract.graphql) for the
 * areas the code serves so far. The contract allows additions (fields, arguments with
 * defaults, types, enum values) and making an output field non-null; anything missing or
 * shaped differently is reported.
 */
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  isUnionType,
  getNamedType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLArgument,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLType,
} from "graphql";

export interface ContractArea {
  types: string[];
  query?: string[];
  mutation?: string[];
  subscription?: string[];
}

/** The contract's parts, by the comments that head them. */
export const CONTRACT_AREAS: Record<string, ContractArea> = {
  node: { types: ["Node", "PageInfo"], query: ["node"] },
  accounts: {
    types: [
      "User",
      "UserSettings",
      "AuthPayload",
      "RegisterInput",
      "LoginInput",
      "UpdateProfileInput",
      "UpdateSettingsInput",
      "UserConnection",
      "UserEdge",
      "DeviceInfoInput",
    ],
    query: ["me", "user", "userByUsername", "searchUsers"],
    mutation: [
      "register",
      "login",
      "refreshToken",
      "logout",
      "changePassword",
      "requestPasswordReset",
      "resetPassword",
      "updateProfile",
      "updateSettings",
      "deactivateAccount",
    ],
  },
  contacts: {
    types: [
      "ContactStatus",
      "Contact",
      "UpdateContactInput",
      "ContactConnection",
      "ContactEdge",
      "ContactRequest",
      "ContactRequestConnection",
      "ContactRequestEdge",
    ],
    query: ["contacts", "incomingContactRequests"],
    mutation: ["requestContact", "acceptContact", "declineContact", "removeContact", "blockUser", "unblockUser", "updateContact"],
  },
  mediaRead: { types: ["MediaType", "Media", "File"], query: ["media", "file"] },
  messaging: {
    types: [
      "MessageType",
      "MessageStatus",
      "ReceiptStatus",
      "ChatMessage",
      "Message",
      "GroupMessage",
      "MessageReceipt",
      "MessageReceiptConnection",
      "MessageReceiptEdge",
      "Attachment",
      "SendMessageInput",
      "SendGroupMessageInput",
      "Conversation",
      "DirectConversation",
      "GroupConversation",
      "ConversationConnection",
      "ConversationEdge",
      "ChatMessageConnection",
      "ChatMessageEdge",
      "ReceiptUpdate",
      "TypingEvent",
    ],
    query: ["conversations", "conversation", "directConversation", "messages", "searchMessages"],
    mutation: ["sendMessage", "sendGroupMessage", "editMessage", "deleteMessage", "markDelivered", "markRead", "setTyping"],
    subscription: ["messageAdded", "messageUpdated", "receiptUpdated", "typing", "conversationUpdated"],
  },
  groups: {
    types: [
      "GroupRole",
      "Group",
      "GroupMember",
      "GroupMemberConnection",
      "GroupMemberEdge",
      "GroupConnection",
      "GroupEdge",
      "CreateGroupInput",
      "UpdateGroupInput",
    ],
    query: ["group", "myGroups"],
    mutation: ["createGroup", "updateGroup", "addGroupMembers", "removeGroupMember", "setGroupRole", "leaveGroup", "deactivateGroup"],
  },
  calls: {
    types: ["CallType", "CallStatus", "Call", "CallParticipant", "CallConnection", "CallEdge", "StartCallInput", "CallSignal"],
    query: ["call", "calls"],
    mutation: ["startCall", "ringCall", "acceptCall", "rejectCall", "joinCall", "leaveCall", "endCall", "sendCallSignal"],
    subscription: ["callUpdated", "callSignal"],
  },
  uploads: {
    types: ["CreateUploadInput", "UploadTicket"],
    mutation: ["createUpload", "completeUpload", "deleteMedia", "deleteFile"],
  },
  presence: {
    types: ["PresenceStatus", "Presence", "DeviceInfo", "SetPresenceInput"],
    query: ["presence"],
    mutation: ["setPresence"],
    subscription: ["presenceChanged"],
  },
};

/** Areas the served schema is complete for; the check covers exactly these. */
export const SERVED_AREAS: string[] = ["node", "accounts", "contacts", "mediaRead", "messaging", "groups", "calls", "uploads", "presence"];

function typeString(t: GraphQLType): string {
  return String(t);
}

/** Served output type fits the contract's: equal, or a non-null version of a nullable one. */
function outputFits(contract: GraphQLOutputType, served: GraphQLOutputType): boolean {
  if (typeString(contract) === typeString(served)) return true;
  if (!isNonNullType(contract) && isNonNullType(served)) return typeString(contract) === typeString(served.ofType);
  return false;
}

function sameDefault(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function checkContract(contractSdl: string, servedSdl: string, areas: string[], areaMap: Record<string, ContractArea> = CONTRACT_AREAS): string[] {
  const contract = buildSchema(contractSdl);
  const served = buildSchema(servedSdl);
  const problems: string[] = [];
  const inArea = new Map<string, string>();
  for (const [area, def] of Object.entries(areaMap)) for (const t of def.types) inArea.set(t, area);
  /** A field is required when its type is a scalar/enum, unassigned, or in a served area. */
  const required = (t: GraphQLNamedType): boolean => {
    const area = inArea.get(t.name);
    return isScalarType(t) || area === undefined || areas.includes(area);
  };

  const checkArgs = (where: string, cArgs: readonly GraphQLArgument[], sArgs: readonly GraphQLArgument[]): void => {
    for (const ca of cArgs) {
      const sa = sArgs.find((a) => a.name === ca.name);
      if (!sa) problems.push(`${where}(${ca.name}:) is missing`);
      else {
        if (typeString(ca.type) !== typeString(sa.type)) problems.push(`${where}(${ca.name}:) is ${typeString(sa.type)}, contract says ${typeString(ca.type)}`);
        if (!sameDefault(ca.defaultValue, sa.defaultValue))
          problems.push(`${where}(${ca.name}:) defaults to ${JSON.stringify(sa.defaultValue)}, contract says ${JSON.stringify(ca.defaultValue)}`);
      }
    }
    for (const sa of sArgs) {
      if (!cArgs.some((a) => a.name === sa.name) && isNonNullType(sa.type) && sa.defaultValue === undefined) {
        problems.push(`${where}(${sa.name}:) is an added required argument without a default`);
      }
    }
  };

  const checkField = (where: string, cf: GraphQLField<unknown, unknown>, sf: GraphQLField<unknown, unknown> | undefined): void => {
    if (!required(getNamedType(cf.type))) return;
    if (!sf) return void problems.push(`${where} is missing`);
    if (!outputFits(cf.type, sf.type)) problems.push(`${where} is ${typeString(sf.type)}, contract says ${typeString(cf.type)}`);
    checkArgs(where, cf.args, sf.args);
  };

  const checkType = (name: string): void => {
    const ct = contract.getType(name);
    if (!ct) return void problems.push(`contract has no type ${name} (area list out of date)`);
    const st = served.getType(name);
    if (!st) return void problems.push(`type ${name} is missing`);
    if (ct.constructor !== st.constructor) return void problems.push(`type ${name} is a ${st.constructor.name}, contract says ${ct.constructor.name}`);
    if ((isObjectType(ct) || isInterfaceType(ct)) && (isObjectType(st) || isInterfaceType(st))) {
      const sFields = st.getFields();
      for (const cf of Object.values(ct.getFields())) checkField(`${name}.${cf.name}`, cf, sFields[cf.name]);
      const sIfaces = st.getInterfaces().map((i) => i.name);
      for (const i of ct.getInterfaces()) if (!sIfaces.includes(i.name)) problems.push(`${name} does not implement ${i.name}`);
    } else if (isInputObjectType(ct) && isInputObjectType(st)) {
      const sFields = st.getFields();
      for (const cf of Object.values(ct.getFields()) as GraphQLInputField[]) {
        const sf = sFields[cf.name];
        if (!sf) problems.push(`${name}.${cf.name} is missing`);
        else {
          if (typeString(cf.type) !== typeString(sf.type)) problems.push(`${name}.${cf.name} is ${typeString(sf.type)}, contract says ${typeString(cf.type)}`);
          if (!sameDefault(cf.defaultValue, sf.defaultValue))
            problems.push(`${name}.${cf.name} defaults to ${JSON.stringify(sf.defaultValue)}, contract says ${JSON.stringify(cf.defaultValue)}`);
        }
      }
      for (const sf of Object.values(st.getFields())) {
        if (!ct.getFields()[sf.name] && isNonNullType(sf.type) && sf.defaultValue === undefined)
          problems.push(`${name}.${sf.name} is an added required input field`);
      }
    } else if (isEnumType(ct) && isEnumType(st)) {
      const sValues = st.getValues().map((v) => v.name);
      for (const v of ct.getValues()) if (!sValues.includes(v.name)) problems.push(`enum ${name} lacks ${v.name}`);
    } else if (isUnionType(ct) && isUnionType(st)) {
      const sMembers = st.getTypes().map((t) => t.name);
      for (const m of ct.getTypes()) if (!sMembers.includes(m.name)) problems.push(`union ${name} lacks ${m.name}`);
    }
  };

  const checkRoot = (kind: "query" | "mutation" | "subscription", names: string[]): void => {
    const pick = (s: GraphQLSchema) => (kind === "query" ? s.getQueryType() : kind === "mutation" ? s.getMutationType() : s.getSubscriptionType());
    const cRoot = pick(contract);
    const sRoot = pick(served);
    for (const n of names) {
      const cf = cRoot?.getFields()[n];
      if (!cf) problems.push(`contract has no ${kind} field ${n} (area list out of date)`);
      else if (!sRoot?.getFields()[n]) problems.push(`${kind} ${n} is missing`);
      else checkField(`${kind} ${n}`, cf, sRoot.getFields()[n]);
    }
  };

  for (const area of areas) {
    const def = areaMap[area];
    if (!def) {
      problems.push(`unknown area ${area}`);
      continue;
    }
    for (const t of def.types) checkType(t);
    checkRoot("query", def.query ?? []);
    checkRoot("mutation", def.mutation ?? []);
    checkRoot("subscription", def.subscription ?? []);
  }
  return problems;
}
