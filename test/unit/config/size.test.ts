import t from 'tap';
import { formatSize, parseSize } from '../../../src/config/size.ts';

t.test('parses binary multiples', async (t) => {
  t.equal(parseSize('512'), 512);
  t.equal(parseSize('64K'), 65536);
  t.equal(parseSize('1G'), 1073741824);
  t.equal(parseSize('10T'), 10 * 1024 ** 4);
  t.equal(parseSize('1.5M'), 1572864);
  t.equal(parseSize('2 GiB'), 2 * 1024 ** 3);
  t.equal(parseSize('4kb'), 4096);
  t.equal(parseSize(4096), 4096);
});

t.test('rejects what is not a whole size', async (t) => {
  t.equal(parseSize('12Q'), undefined);
  t.equal(parseSize(''), undefined);
  t.equal(parseSize('-1G'), undefined);
  t.equal(parseSize('0.3K'), undefined);
  t.equal(parseSize(1.5), undefined);
  t.equal(parseSize('99999999P'), undefined);
});

t.test('formats the shortest exact form', async (t) => {
  t.equal(formatSize(1024 ** 3), '1G');
  t.equal(formatSize(1536), '1536');
  t.equal(formatSize(3 * 1024 ** 4), '3T');
});
