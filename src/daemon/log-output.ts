import type { WriteStream } from 'node:tty';
import type { LogFormat } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';

/** What pino writes its JSON lines to; pino calls `write` once per line, synchronously. */
export interface LogSink {
  write(line: string): void;
}

/** Bindings shown in front of the message instead of among the other fields: who logged it. */
const TAG_KEYS = ['component', 'listener', 'session'] as const;

/**
 * `TSMAIL_LOG_FORMAT` (auto | json | pretty) beats `log.format`, so one run can be switched
 * (`TSMAIL_LOG_FORMAT=json npm start | jq`) without editing the config. `auto` is pretty only on a
 * terminal: journald, pipes and files get JSON lines, which tools can parse.
 */
export function chooseLogFormat(setting: LogFormat, envValue: string | undefined, terminal: boolean): 'json' | 'pretty' {
  let chosen: string = setting;
  if (envValue) {
    if (!['auto', 'json', 'pretty'].includes(envValue)) {
      throw new ConfigError(`TSMAIL_LOG_FORMAT: must be auto, json or pretty, not "${envValue}"`);
    }
    chosen = envValue;
  }
  if (chosen === 'auto') return terminal ? 'pretty' : 'json';
  return chosen as 'json' | 'pretty';
}

/**
 * The stream for pino: `destination` itself (undefined = pino's own synchronous stdout writer)
 * for JSON, or a formatter in front of it for pretty output. pino-pretty is imported only then,
 * so a daemon logging JSON never loads it.
 */
export async function logDestination(
  setting: LogFormat,
  env: NodeJS.ProcessEnv,
  destination?: NodeJS.WritableStream,
): Promise<LogSink | undefined> {
  const out = destination ?? process.stdout;
  const terminal = (out as Partial<WriteStream>).isTTY === true;
  if (chooseLogFormat(setting, env.TSMAIL_LOG_FORMAT, terminal) === 'json') return destination;
  // hasColors() honours NO_COLOR, FORCE_COLOR and TERM=dumb; a file or pipe gets no escape codes.
  const colors = terminal && (out as WriteStream).hasColors(env);
  return prettySink(out, colors);
}

/**
 * pino-pretty's formatter called inline, not as a pino transport: a transport runs in a worker
 * thread (~10 MB more memory), and pino-pretty's stream form pipes each line through three
 * streams, so the last lines before an exit could be lost. Here a line is formatted and written
 * before pino's call returns.
 */
async function prettySink(out: NodeJS.WritableStream, colorize: boolean): Promise<LogSink> {
  const { prettyFactory } = (await import('pino-pretty')).default;
  const format = prettyFactory({
    colorize,
    // Local wall-clock time, as a terminal user reads it; the JSON keeps epoch milliseconds.
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: ['pid', 'hostname', ...TAG_KEYS].join(','),
    // One line per event, like Postfix's log; the remaining fields follow as JSON.
    singleLine: true,
    // pino-pretty colours the whole result as the message; the tag stands out in its own colour.
    messageFormat: (log, messageKey, _level, { colors }) => {
      const tag = TAG_KEYS.map((k) => log[k]).filter((v) => v !== undefined && v !== '').join(' ');
      const message = String(log[messageKey] ?? '');
      return tag ? `${colors.magenta(tag)}: ${message}` : message;
    },
  });
  return {
    write(line: string) {
      const text = format(line);
      if (text) out.write(text);
    },
  };
}
