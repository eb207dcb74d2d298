/** The media types of what AtomMQ sends, each with its charset. */
export const MEDIA = {
  feed: 'application/atom+xml;type=feed;charset=utf-8',
  entry: 'application/atom+xml;type=entry;charset=utf-8',
  service: 'application/atomsvc+xml;charset=utf-8',
  json: 'application/json;charset=utf-8',
} as const;
