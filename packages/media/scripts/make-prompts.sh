#!/usr/bin/env bash
# Regenerates the English IVR prompts under packages/media/assets/prompts/ with espeak-ng
# and sox (Debian packages espeak-ng, sox). Run once after changing the list below;
# the WAV files are committed so the service does not need espeak-ng at run time.
# Output: 8 kHz mono 16-bit WAV (telephone band; the mixer upsamples to 16 kHz on load),
# silence trimmed at both ends (40 ms kept at the end), peak-normalised to -3 dBFS.
set -euo pipefail
cd "$(dirname "$0")/../assets/prompts"
RATE=${PROMPT_RATE:-8000}
VOICE=${PROMPT_VOICE:-en-us}
SPEED=${PROMPT_SPEED:-165}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # name text
  espeak-ng -v "$VOICE" -s "$SPEED" -w "$tmp/$1.wav" "$2"
  sox "$tmp/$1.wav" -r "$RATE" -c 1 -b 16 "$1.wav" \
    silence 1 0.01 0.3% reverse silence 1 0.01 0.3% reverse pad 0 0.04 gain -n -3
}

rm -f ./*.wav
say welcome "Welcome to the conference."
say enter-code "Please enter your access code, followed by the pound key."
say wrong-code "That code is not valid. Please try again."
say too-many-tries "Too many attempts."
say try-later "Please try again later."
say goodbye "Goodbye."
say locked "This meeting is locked."
say first-one "You are the first person in the meeting."
say only-one "You are the only person in the meeting."
say there-are "There are"
say there-is "There is"
say other-people "other people in the meeting."
say other-person "other person in the meeting."
say muted "You are muted."
say unmuted "You are unmuted."
say cannot-unmute "The meeting is muted. You cannot unmute yourself now."
say listener-only "You are a listener and cannot speak."
say meeting-muted "The meeting is muted. Press star one to ask to speak."
say meeting-unmuted "The meeting is unmuted."
say meeting-locked "The meeting is now locked."
say meeting-unlocked "The meeting is now unlocked."
say hold-on "Participants are on hold."
say hold-off "Participants are off hold."
say host-only "That command is for hosts."
say hand-raised "Your hand is raised. Please wait for your turn."
say hand-lowered "Your hand is lowered."
say your-turn "It is your turn to speak."
say no-hands "There are no raised hands."
say recording-started "Recording has started."
say recording-stopped "Recording has stopped."
say tones-on "Entry and exit tones are on."
say tones-off "Entry and exit tones are off."
say meeting-ending "This meeting will end in"
say seconds "seconds."
say minutes "minutes."
say meeting-ended "The meeting has ended."
say host-left "The host has left the meeting."
say wait-for-host "Please wait for the host to join."
say name-record "Please say your name after the tone."
say has-joined "has joined."
say has-left "has left."
say instructions "Here are the keypad commands."
say instr-count "To hear how many people are in the meeting, press"
say instr-instructions "To hear these instructions, press"
say instr-mute "To mute or unmute yourself, press"
say instr-meeting-mute "To mute or unmute all participants, press"
say instr-raise-hand "To ask to speak, press"
say instr-next-hand "To let the next person with a raised hand speak, press"
say instr-lock "To lock or unlock the meeting, press"
say instr-hold "To put participants on hold, or take them off hold, press"
say instr-tones "To turn entry and exit tones on or off, press"
say instr-drop "To end the meeting for everyone, press"
say instr-recording "To start or stop recording, press"
say instr-moh "To change the music, press"
say star "star"
say pound "pound"
words=(zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
  fifteen sixteen seventeen eighteen nineteen twenty)
for i in "${!words[@]}"; do say "num-$i" "${words[$i]}"; done
tens=([30]=thirty [40]=forty [50]=fifty [60]=sixty [70]=seventy [80]=eighty [90]=ninety)
for t in "${!tens[@]}"; do say "num-$t" "${tens[$t]}"; done
say hundred "hundred"
say thousand "thousand"
du -ch ./*.wav | tail -1
