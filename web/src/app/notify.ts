/**
 * Browser notifications for new messages while the tab is hidden. With no
 * tab open there are none: that would need a push service run by a third
 * party (README, The web app).
 */

/** Asks for permission (from a user's click); resolves with whether notifications may be shown. */
export async function askNotificationPermission (): Promise<boolean> {
  if (typeof Notification === 'undefined') return false
  if (Notification.permission === 'granted') return true
  if (Notification.permission === 'denied') return false
  return await Notification.requestPermission() === 'granted'
}

/** Shows a notification when the tab is hidden and permission was given; `onClick` brings the conversation up. */
export function notifyHidden (title: string, body: string, onClick: () => void): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return
  if (document.visibilityState !== 'hidden') return
  const n = new Notification(title, { body, tag: title })
  n.onclick = () => {
    window.focus()
    onClick()
    n.close()
  }
}
