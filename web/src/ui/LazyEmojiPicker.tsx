/**
 * The emoji picker, loaded when first shown: EmojiPicker.tsx and its data
 * are a chunk of their own (bench:web reports it among the lazy files), so
 * the app is ready without them.
 */
import { useEffect, useState } from 'preact/hooks'
import type { FunctionComponent } from 'preact'

interface PickerProps {
  label: string
  onPick(emoji: string): void
  onClose(): void
}

let picker: Promise<FunctionComponent<PickerProps>> | undefined

/** The picker component, imported once. */
async function loadPicker (): Promise<FunctionComponent<PickerProps>> {
  picker ??= import('./EmojiPicker.js').then(m => m.EmojiPicker)
  return await picker
}

/** Shows the picker once its code has arrived. */
export function LazyEmojiPicker (props: PickerProps) {
  const [Picker, setPicker] = useState<FunctionComponent<PickerProps>>()
  const [error, setError] = useState<string>()
  useEffect(() => {
    loadPicker().then((p) => { setPicker(() => p) }).catch((err: Error) => { setError(err.message) })
  }, [])
  if (error != null) return <p role="alert" class="error">The emoji picker could not be loaded: {error}</p>
  if (Picker == null) return <p role="status" class="hint">Loading emoji…</p>
  return <Picker {...props} />
}
