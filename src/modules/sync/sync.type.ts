/** Output types of `changes(since)` (roots: ChangesView and ConversationChangesView, sync.service.ts). */
import { Field, ID, ObjectType } from "type-graphql";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { ConversationType } from "../conversation/conversation.type.js";
import { Contact } from "../contact/contact.entity.js";
import { ContactRequest } from "../contact/contact.type.js";
import { ReceiptUpdate } from "../message/message.type.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";

@ObjectType({ description: "What changed in one conversation since the cursor (or its current state when since was null)." })
export class ConversationChanges {
  @Field(() => ConversationType, {
    description: "Its current state: counts, the viewer's watermarks and list state, pins, last message; replaces the client's copy.",
  })
  conversation!: ConversationType;

  @Field(() => [ChatMessage], {
    description:
      "New messages (the newest limitPerConversation after the cursor) and older ones changed since (edits, deletes, reactions, unhides), in seq order; each replaces the client's copy.",
  })
  messages!: ChatMessage[];

  @Field(() => [ID], { description: "Messages the viewer hid since the cursor (on another device): drop them." })
  hiddenMessageIds!: string[];

  @Field({
    description: "More new messages came than limitPerConversation: page history (messages(before:)) from the first one returned back to what the client has.",
  })
  hasMore!: boolean;

  // A query field, but marked like every other receipts field: shared subscription execution
  // treats them as the viewer's own (subscriptions/viewer-specific.ts).
  @ViewerSpecific()
  @Field(() => [ReceiptUpdate], {
    description: "Every other member's delivered and read watermarks (read marks as shared: frozen for users with read receipts off).",
  })
  receipts!: ReceiptUpdate[];
}

@ObjectType({ description: "Everything that changed for the viewer since a cursor, across all conversations, and the next cursor." })
export class Changes {
  @Field({ description: "Pass it as since next time. Opaque; survives restarts and works on every instance." })
  cursor!: string;

  @Field({ description: "True when since was null: this is the whole state (every conversation), not a difference." })
  full!: boolean;

  @Field(() => [ConversationChanges], { description: "Conversations that changed, and ones the viewer joined or that started since." })
  conversations!: ConversationChanges[];

  @Field(() => [ID], { description: "Conversations in the cursor the viewer no longer belongs to (left, removed): drop them." })
  removedConversationIds!: string[];

  @Field(() => [Contact], { nullable: true, description: "The viewer's contact entries (blocks included), whole, when any changed; null when none did." })
  contacts?: Contact[] | null;

  @Field(() => [ContactRequest], { nullable: true, description: "Pending requests to the viewer, whole, when any changed; null when none did." })
  contactRequests?: ContactRequest[] | null;
}
