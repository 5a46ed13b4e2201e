import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCedar } from './cedar-runtime.ts';

test('loadCedar returns one cached, initialised module', async () => {
  const [a, b] = await Promise.all([loadCedar(), loadCedar()]);
  assert.equal(a, b);
  assert.match(a.getCedarVersion(), /^4\.\d+\.\d+$/);
});

test('Cedar permits what a policy allows and denies the rest', async () => {
  const cedar = await loadCedar();
  const decide = (tool: string) => {
    const answer = cedar.isAuthorized({
      principal: { type: 'Agent', id: 'a1' },
      action: { type: 'Action', id: 'tool.invoke' },
      resource: { type: 'Tool', id: tool },
      context: {},
      policies: { staticPolicies: { 'allow-search': 'permit (principal, action, resource == Tool::"search");' } },
      entities: [],
    });
    assert.equal(answer.type, 'success');
    return answer.type === 'success' ? { decision: answer.response.decision, reason: answer.response.diagnostics.reason } : null;
  };
  assert.deepEqual(decide('search'), { decision: 'allow', reason: ['allow-search'] });
  assert.deepEqual(decide('shell'), { decision: 'deny', reason: [] });
});
