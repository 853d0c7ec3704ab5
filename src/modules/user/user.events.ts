/**
 * Events on a user's own topic (`USER:<id>`). The user feature owns the topic; the features
 * that publish on it add their event types to `UserEventMap` (declaration merging) in their
 * own `*.events.ts`, so this file imports none of them and the union stays one list.
 */

/** Event payloads on the user topic, by `type`. Features add theirs. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface UserEventMap {}

export type UserEvent = { [K in keyof UserEventMap]: { type: K } & UserEventMap[K] }[keyof UserEventMap];

export type UserTopics = {
  USER: [userId: string, event: UserEvent];
};
