/**
 * Secrets in a command's argument list, where the name and the value are separate items:
 * `["mysql", "--password", P]`, `["sshpass", "-p", P]`, `["docker", "login", "-p", P]`,
 * `["curl", "-u", "admin:P"]`, `["mysql", "-pP"]`, a private key split into lines, and a
 * `[name, value]` pair (`[["x-api-key", P]]`).
 */
import { isSensitiveKey } from './secret-keys.ts';

/** What to hide of one item: all of it, or all after its first `keep` characters. */
export type HiddenItem = { whole: true } | { whole: false; keep: number };

/** `--password`, `-token`, `--api-key`: a command-line flag whose name says its value is secret. */
const FLAG = /^--?([A-Za-z][\w.-]*)$/;
const MYSQL = /^(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mariadb|mariadb-dump)$/;
const KEY_BEGIN = /^-{4,5} ?BEGIN[A-Z0-9 ]*PRIVATE KEY/i;
const KEY_END = /-{4,5} ?END[A-Z0-9 ]*PRIVATE KEY/i;
const WHOLE: HiddenItem = { whole: true };

/** The items of `array` to hide, by index; null when there are none (the common case). */
export function hiddenItems(array: readonly unknown[]): Map<number, HiddenItem> | null {
  let hidden: Map<number, HiddenItem> | null = null;
  const first = array[0];
  const command = typeof first === 'string' ? first.slice(first.lastIndexOf('/') + 1) : '';
  const mysql = MYSQL.test(command);
  let passwordFlag = command === 'sshpass'; // `-p` is the password (after `login` too)
  let inKey = false;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    const previous = i > 0 ? array[i - 1] : undefined;
    // Cheap tests first: almost every item is a plain word that starts no flag.
    const afterFlag = typeof previous === 'string' && previous.charCodeAt(0) === 45 /* - */;
    if (typeof item !== 'string') {
      if (afterFlag && typeof item === 'number' && sensitiveFlag(previous)) hidden = hide(hidden, i, WHOLE);
      continue;
    }
    if (inKey) {
      // A private key split into lines: everything up to its END line.
      hidden = hide(hidden, i, WHOLE);
      if (KEY_END.test(item)) inKey = false;
      continue;
    }
    if (item === 'login') passwordFlag = true;
    if (afterFlag && item !== '' && !item.startsWith('--')) {
      if (sensitiveFlag(previous) || (previous === '-p' && passwordFlag)) {
        hidden = hide(hidden, i, WHOLE);
        continue;
      }
      if ((previous === '-u' || previous === '--user') && item.includes(':')) {
        hidden = hide(hidden, i, { whole: false, keep: item.indexOf(':') + 1 });
        continue;
      }
    }
    if (item.charCodeAt(0) !== 45 /* - */) continue;
    if (KEY_BEGIN.test(item) && !KEY_END.test(item)) inKey = true;
    else if (mysql && /^-p[^-]/.test(item)) hidden = hide(hidden, i, { whole: false, keep: 2 });
    else if (/^-u[^:\s]+:./.test(item)) hidden = hide(hidden, i, { whole: false, keep: item.indexOf(':') + 1 });
  }
  if (array.length === 2 && typeof first === 'string' && first.charCodeAt(0) !== 45 && isSensitiveKey(first) && array[1] !== null && typeof array[1] !== 'boolean') {
    hidden = hide(hidden, 1, WHOLE);
  }
  return hidden;
}

function hide(hidden: Map<number, HiddenItem> | null, index: number, what: HiddenItem): Map<number, HiddenItem> {
  const map = hidden ?? new Map<number, HiddenItem>();
  map.set(index, what);
  return map;
}

function sensitiveFlag(item: string): boolean {
  const flag = FLAG.exec(item);
  return flag !== null && isSensitiveKey(flag[1] as string);
}
