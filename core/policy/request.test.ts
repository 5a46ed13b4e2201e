import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPrincipal, parsePrincipal, toolCallRequest } from './request.ts';

test('a request gets defaults, and a built-in tool its capabilities and risk', () => {
  assert.deepEqual(toolCallRequest({ tool: { name: 'fs.write' } }), {
    principal: { type: 'Agent', id: 'main' },
    tool: { name: 'fs.write', capabilities: ['fs_write'], risk: 'medium' },
    args: {},
    workspace: '',
    channel: 'cli',
    sender: '',
    senderIsOwner: true,
    approval: 'none',
    toolCallsLeft: Number.MAX_SAFE_INTEGER,
  });
});

test('malformed requests are refused with the field named', () => {
  const bad: [Parameters<typeof toolCallRequest>[0], RegExp][] = [
    [{ tool: { name: 'x' } }, /Tool "x" is not a built-in tool: give its capabilities and risk/],
    [{ tool: { name: 'fs.write', capabilities: ['fs-write'] } }, /Unknown capability "fs-write"/],
    [{ tool: { name: 'echo', risk: 'extreme' } }, /Risk must be one of low, medium, high, not "extreme"/],
    [{ tool: { name: 'echo' }, args: [1] }, /Tool arguments must be a JSON object/],
    [{ tool: { name: 'echo' }, args: { n: Number.NaN } }, /Tool arguments are not JSON: Cannot encode \$\.n/],
    [{ tool: { name: 'echo' }, approval: 'yes' }, /Approval must be "none" or "approved", not "yes"/],
    [{ tool: { name: 'echo' }, toolCallsLeft: 1.5 }, /Tool calls left must be an integer/],
    [{ tool: { name: 'echo' }, senderIsOwner: 'yes' as unknown as boolean }, /senderIsOwner must be true or false/],
    [{ tool: { name: '' } }, /Tool name must be a non-empty string/],
  ];
  for (const [input, message] of bad) assert.throws(() => toolCallRequest(input), { code: 'PALYRA_INVALID_ARGUMENT', message }, JSON.stringify(input));
});

test('principals parse from an agent id or Type::"id", and print back as Cedar', () => {
  assert.deepEqual(parsePrincipal(undefined), { type: 'Agent', id: 'main' });
  assert.deepEqual(parsePrincipal('bot'), { type: 'Agent', id: 'bot' });
  assert.deepEqual(parsePrincipal('Operator::"ann \\"x\\""'), { type: 'Operator', id: 'ann "x"' });
  assert.deepEqual(parsePrincipal('bot', 's1'), { type: 'Session', id: 's1', agent: 'bot' });
  assert.throws(() => parsePrincipal('Session::"s1"'), /needs its agent/);
  assert.throws(() => parsePrincipal('Sender::"tg"', 's1'), /A session belongs to an agent, not to Sender::"tg"/);
  assert.throws(() => parsePrincipal('Robot::"r"'), /Principal must be an agent id or Type::"id"/);
  assert.equal(formatPrincipal({ type: 'Sender', id: 'tg:"1"\n' }), 'Sender::"tg:\\"1\\"\\n"');
});
