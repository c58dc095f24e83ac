// What every test page does, whichever bundler built it: connect to ?server=, join ?room= as
// ?user=, and write the progress where the test waits for it: <body data-status> goes
// "connecting" → "connected" → "joined" (or "error:<code>:<message>"), and <body data-members> is
// the sorted userIds of the room's members, kept up to date from presence events.
export async function run(RealtimeClient) {
  const params = new URLSearchParams(location.search);
  const show = (status) => (document.body.dataset.status = status);
  try {
    show("connecting");
    const client = new RealtimeClient({ baseUrl: params.get("server") });
    await client.connect();
    show("connected");
    const { channel } = await client.joinRoom({
      roomId: params.get("room"),
      userId: params.get("user"),
      state: { status: "online" },
    });
    const showMembers = () =>
      (document.body.dataset.members = channel.members().map((m) => m.userId).sort().join(","));
    channel.on("presenceEvent", showMembers);
    showMembers();
    show("joined");
  } catch (e) {
    show(`error:${e?.code}:${e?.message ?? e}`);
  }
}
