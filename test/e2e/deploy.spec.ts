/**
 * deploy/: what an operator installs.
 *
 *   - The systemd unit passes `systemd-analyze verify` with no warning (a
 *     copy with a misspelt option does not: the check can fail), keeps its
 *     sandboxing options, and `systemd-analyze security` rates it OK.
 *   - The Containerfile's steps, run without a container engine (these
 *     machines have none) in a throwaway folder that stands for the image's
 *     root: COPY copies, RUN runs (as root, as a build does; `npm ci` links
 *     the project's node_modules instead of asking a registry), then the
 *     ENTRYPOINT and CMD run as the USER it names, with the data directory
 *     (the VOLUME) where the recipe puts it. The relay starts, writes its
 *     key to the volume and nowhere else it may not, answers the
 *     HEALTHCHECK, stops on the STOPSIGNAL with exit 0, and comes back with
 *     the same identity.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { cp, mkdir, readFile, stat, writeFile, chmod } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { Processes } from './harness.js'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')
const UNIT = join(ROOT, 'deploy/starling-relay.service')
const CONTAINERFILE = join(ROOT, 'deploy/Containerfile')

async function systemdAnalyze (): Promise<string> {
  try {
    await run('systemd-analyze', ['--version'])
    return 'systemd-analyze'
  } catch {
    throw new Error('systemd-analyze is not installed: install the Debian package "systemd" (.ci/run does) to check deploy/starling-relay.service')
  }
}

/** The unit with the install path pointing at this checkout (verify checks that ExecStart exists). */
async function localUnit (dir: string, edit: (text: string) => string = t => t): Promise<string> {
  const path = join(dir, 'starling-relay.service')
  await writeFile(path, edit((await readFile(UNIT, 'utf8')).replaceAll('/opt/starling', ROOT)))
  return path
}

async function verify (path: string): Promise<{ code: number, output: string }> {
  try {
    const { stdout, stderr } = await run(await systemdAnalyze(), ['verify', '--man=no', path])
    return { code: 0, output: (stdout + stderr).trim() }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, output: (e.stdout + e.stderr).trim() }
  }
}

/** One instruction of a Containerfile: its keyword and the rest of the line. */
function instructions (text: string): Array<{ op: string, args: string }> {
  return text.split('\n').filter(l => l.trim() !== '' && !l.trimStart().startsWith('#')).map(l => {
    const [op, ...rest] = l.trim().split(/\s+/)
    return { op: op.toUpperCase(), args: rest.join(' ') }
  })
}

/** The user the container runs as, and the relay's process. */
const UID = 10001

describe('e2e: deploy/ (systemd unit and Containerfile)', function () {
  this.timeout(300_000)
  const procs = new Processes()
  after(async () => procs.stopAll())

  it('the systemd unit passes systemd-analyze verify, keeps its sandboxing, and is rated OK', async () => {
    const dir = await procs.tempDir('starling-unit-')
    const checked = await verify(await localUnit(dir))
    assert.equal(checked.code, 0, checked.output)
    assert.equal(checked.output, '', 'no warning')
    // The check can fail: a misspelt option is reported.
    const typo = await verify(await localUnit(await procs.tempDir('starling-unit-'), t => t.replace('ProtectSystem=strict', 'ProtectSystm=strict')))
    assert.match(typo.output, /Unknown key 'ProtectSystm'/)
    const unit = await readFile(UNIT, 'utf8')
    for (const line of ['DynamicUser=yes', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'StateDirectory=starling-relay', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'KillSignal=SIGTERM']) {
      assert.ok(unit.split('\n').includes(line), `${line} is set`)
    }
    const { stdout } = await run(await systemdAnalyze(), ['security', '--offline=yes', '--no-pager', await localUnit(dir)])
    const exposure = Number(/Overall exposure level for starling-relay\.service: ([0-9.]+)/.exec(stdout)?.[1])
    console.log(`      systemd-analyze security: exposure ${exposure}`)
    assert.ok(exposure <= 2, `exposure ${exposure} is at most 2 ("OK")`)
  })

  it('the Containerfile\'s steps, run as its unprivileged user in a throwaway root, give a relay that keeps its data on the volume', async () => {
    const root = await procs.tempDir('starling-image-')
    // An image's root is world-readable (mkdtemp made it 0700).
    await chmod(root, 0o755)
    // Absolute paths of the recipe land inside the throwaway root.
    const inRoot = (text: string): string => text.replace(/(^|[\s="'])\/(opt\/starling|data|etc\/starling)\b/g, `$1${root}/$2`)
    const shim = join(root, '.shim')
    await mkdir(shim)
    await writeFile(join(shim, 'npm'), `#!/bin/sh\n[ "$1" = ci ] && exec ln -s ${join(ROOT, 'node_modules')} node_modules\necho "npm $* is not emulated" >&2; exit 1\n`)
    await chmod(join(shim, 'npm'), 0o755)
    let workdir = root
    let user: string | undefined
    const env: Record<string, string> = {}
    let entrypoint: string[] = []
    let cmd: string[] = []
    let healthcheck: string[] = []
    let stopSignal: NodeJS.Signals = 'SIGTERM'
    const volumes: string[] = []
    for (const { op, args } of instructions(await readFile(CONTAINERFILE, 'utf8'))) {
      switch (op) {
        case 'FROM': break // the base image's Node 24: the one running these tests
        case 'WORKDIR':
          workdir = inRoot(args)
          await mkdir(workdir, { recursive: true })
          break
        case 'COPY': {
          const parts = args.split(/\s+/)
          const dest = resolve(workdir, inRoot(parts.at(-1) ?? '.'))
          for (const src of parts.slice(0, -1)) await cp(join(ROOT, src), parts.length > 2 ? join(dest, src) : dest, { recursive: true })
          break
        }
        case 'RUN':
          await run('sh', ['-c', inRoot(args)], { cwd: workdir, env: { ...process.env, PATH: `${shim}:${process.env.PATH ?? ''}` } })
          break
        case 'USER': user = args; break
        case 'ENV': {
          const [key, ...value] = args.split('=')
          env[key] = inRoot(value.join('='))
          break
        }
        case 'VOLUME': volumes.push(inRoot(args)); break
        case 'STOPSIGNAL': stopSignal = args as NodeJS.Signals; break
        case 'HEALTHCHECK': healthcheck = (JSON.parse(args.slice(args.indexOf('CMD') + 3)) as string[]).map(inRoot); break
        case 'ENTRYPOINT': entrypoint = (JSON.parse(args) as string[]).map(inRoot); break
        case 'CMD': cmd = (JSON.parse(args) as string[]).map(inRoot); break
        case 'EXPOSE': break
        default: assert.fail(`the test does not know ${op}: teach it`)
      }
    }
    assert.equal(user, `${UID}:${UID}`)
    assert.deepEqual(volumes, [join(root, 'data')])
    const volume = volumes[0]
    assert.equal((await stat(volume)).uid, UID, 'the volume belongs to the relay\'s user')
    assert.equal(env.STARLING_RELAY_DATA, volume)

    const asUser = ['--reuid', String(UID), '--regid', String(UID), '--clear-groups', '--']
    const userEnv = { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env }
    // Loopback only, any free port: the image's config listens on every interface at fixed ports.
    const local = ['--listen', '/ip4/127.0.0.1/tcp/0', '--metrics', '127.0.0.1:0', '--health', '127.0.0.1:0', '--json']
    const start = async (): Promise<{ proc: ReturnType<typeof spawn>, ready: Record<string, unknown> }> => {
      const proc = spawn('setpriv', [...asUser, ...entrypoint, ...cmd, ...local], { cwd: workdir, env: userEnv, stdio: ['ignore', 'pipe', 'pipe'] })
      const stderr: string[] = []
      createInterface({ input: proc.stderr }).on('line', l => stderr.push(l))
      const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
        createInterface({ input: proc.stdout }).on('line', line => {
          const event = line.startsWith('{') ? JSON.parse(line) as Record<string, unknown> : undefined
          if (event?.event === 'ready') resolve(event)
        })
        proc.on('exit', code => { reject(new Error(`the relay exited with ${code}: ${stderr.join(' | ')}`)) })
      })
      return { proc, ready }
    }
    const stop = async (proc: ReturnType<typeof spawn>): Promise<number | null> => {
      const exited = new Promise<number | null>(resolve => proc.once('exit', code => { resolve(code) }))
      proc.kill(stopSignal)
      return await exited
    }

    const first = await start()
    assert.equal(first.ready.dataDir, volume)
    const key = await stat(join(volume, 'relay.key'))
    assert.equal(key.uid, UID, 'the key is the relay user\'s, on the volume')
    // The application is the builder's: the relay's user cannot change it.
    await assert.rejects(run('setpriv', [...asUser, 'touch', join(workdir, 'node/relay.ts')]))
    const health = String(first.ready.health).replace(/^http:\/\//, '').replace(/\/health$/, '')
    const probe = healthcheck.map(a => a === '127.0.0.1:9465' ? health : a)
    const checked = await run('setpriv', [...asUser, ...probe], { cwd: workdir, env: userEnv })
    assert.match(checked.stdout, /: ready/)
    assert.equal(await stop(first.proc), 0)

    const second = await start()
    assert.equal(second.ready.peerId, first.ready.peerId, 'the same identity from the volume')
    assert.equal(await stop(second.proc), 0)
  })
})
