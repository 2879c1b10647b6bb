// A BACnet/IP peer on @bacnet-js/client (an independent TypeScript stack), driven by
// JSON lines on stdin and answering JSON lines on stdout, like bacpypes_peer.py.
// Usage: node peer.mjs PORT
import readline from 'node:readline';
import bacnet from '@bacnet-js/client';

const { ObjectType, PropertyIdentifier, EventState, TimeStamp } = await import('@bacnet-js/client');
const BACnetClient = bacnet.default ?? bacnet;

const port = Number(process.argv[2]);
const client = new BACnetClient({ port, interface: '127.0.0.1', broadcastAddress: '127.255.255.255',
                                  apduTimeout: 3000 });

const emit = (message) => process.stdout.write(JSON.stringify(message) + '\n');
const kebab = (name) => name.toLowerCase().replace(/_/g, '-');
const typeName = (type) => kebab(ObjectType[type] ?? String(type));
const propertyName = (id) => kebab(PropertyIdentifier[id] ?? String(id));
const objectText = (id) => `${typeName(id.type)},${id.instance}`;
const parseObject = (text) => {
  const [type, instance] = text.split(',');
  return { type: ObjectType[type.toUpperCase().replace(/-/g, '_')], instance: Number(instance) };
};
// a list of application values as JSON: object ids as text, bit strings as lists of 0/1
const plain = (values) => {
  const list = values.map((v) => {
    const value = v.value;
    if (value && typeof value === 'object' && 'type' in value && 'instance' in value) {
      return objectText(value);
    }
    if (value && typeof value === 'object' && 'value' in value && 'bitsUsed' in value) {
      return Array.from({ length: value.bitsUsed }, (_, bit) => (value.value[bit >> 3] >> (bit & 7)) & 1);
    }
    if (value instanceof Date) return value.toISOString();
    return value;
  });
  return list.length === 1 ? list[0] : list;
};
const stamp = (timeStamp) => (timeStamp?.value instanceof Date ? timeStamp.value.toISOString() : timeStamp?.value);

client.on('iAm', (message) => emit({ i_am: message.payload.deviceId, address: message.header?.sender?.address }));
client.on('covNotifyUnconfirmed', (message) => {
  const payload = message.payload;
  emit({ cov: { object: objectText(payload.monitoredObjectId), process: payload.subscriberProcessId,
                time_remaining: payload.timeRemaining,
                values: Object.fromEntries(payload.values.map((v) => [propertyName(v.property.id), plain(v.value)])) } });
});
client.on('eventNotify', (message) => {
  const p = message.payload;
  emit({ event: { object: objectText(p.eventObjectIdentifier ?? p.eventObjectId),
                  device: objectText(p.initiatingDeviceIdentifier ?? p.initiatingObjectId),
                  time: stamp(p.timeStamp), notification_class: p.notificationClass,
                  priority: p.priority, event_type: p.eventType, text: p.messageText ?? null,
                  notify_type: p.notifyType, ack_required: p.ackRequired ?? null,
                  from_state: p.fromState ?? null, to_state: p.toState } });
});

async function run(command) {
  const receiver = { address: command.address };
  switch (command.op) {
    case 'whois':
      client.whoIs(receiver, { lowLimit: command.low, highLimit: command.high });
      return { whois_sent: true };
    case 'read': {
      const result = await client.readProperty(receiver, parseObject(command.object),
        PropertyIdentifier[command.property.toUpperCase().replace(/-/g, '_')]);
      return { value: plain(result.values) };
    }
    case 'rpm': {
      const specs = command.objects.map((o) => ({ objectId: parseObject(o), properties: [{ id: PropertyIdentifier.ALL, index: 0xffffffff }] }));
      const result = await client.readPropertyMultiple(receiver, specs);
      const objects = {};
      for (const item of result.values) {
        const properties = {};
        for (const prop of item.values) {
          const first = prop.value[0];
          properties[propertyName(prop.id)] = first && first.value && first.value.errorClass !== undefined
            ? { error: first.value } : plain(prop.value);
        }
        objects[objectText(item.objectId)] = properties;
      }
      return { objects };
    }
    case 'subscribe':
      await client.subscribeCov(receiver, parseObject(command.object), command.process ?? 1,
        command.cancel ?? false, command.confirmed ?? false, command.lifetime ?? 0);
      return { subscribed: command.object };
    case 'range': {
      const result = await client.readRange(receiver, parseObject(command.object), command.first, command.count);
      return { count: result.itemCount, flags: plain([{ value: result.resultFlag }]),
               records: (result.values ?? []).map((r) => [r.timestamp instanceof Date ? r.timestamp.toISOString() : r.timestamp, r.value, r.status?.fault ?? null]) };
    }
    case 'events': {
      const events = await client.getEventInformation(receiver);
      return { events: events.map((e) => ({ object: objectText(e.objectId), state: e.eventState,
                                            acked: plain([{ value: e.acknowledgedTransitions }]),
                                            priorities: e.eventPriorities })) };
    }
    case 'alarms': {
      const alarms = await client.getAlarmSummary(receiver);
      return { alarms: alarms.map((a) => ({ object: objectText(a.objectId), state: a.alarmState,
                                            acked: plain([{ value: a.acknowledgedTransitions }]) })) };
    }
    case 'ack': {
      const eventStamp = { type: TimeStamp.DATETIME, value: new Date(command.time) };
      const ackStamp = { type: TimeStamp.DATETIME, value: new Date() };
      await client.acknowledgeAlarm(receiver, parseObject(command.object), command.state,
        command.source ?? 'node', eventStamp, ackStamp);
      return { acked: true };
    }
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

client.on('listening', () => emit({ ready: port }));
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  try {
    emit(await run(JSON.parse(line)));
  } catch (error) {
    emit({ error: String(error?.message ?? error) });
  }
}
client.close();
