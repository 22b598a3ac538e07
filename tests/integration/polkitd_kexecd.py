'''polkitd mock template for the kexecd integration tests

Loaded by path with python-dbusmock (spawn_server_template(<this file>)).
Unlike dbusmock's stock polkitd template it can answer "challenge" (the
caller could be authorized after authenticating) and it records every
CheckAuthorization it was asked, so that the tests can check what the daemon
asked polkit and on whose behalf.

Each action is answered, in this order:
  - allowed (SetAllowed, or AllowUnknown for unlisted actions):
        is_authorized=true
  - challenge (SetChallenge): is_authorized=false, is_challenge=true, unless
        the AllowUserInteraction flag (1) is set, in which case it is
        authorized, as if the user had typed the password into their agent
  - anything else: is_authorized=false, is_challenge=false
and an action listed in SetHanging gets its answer only when the test calls
ReleaseHangingCalls (an agent waiting for a password), or, as polkitd does,
an org.freedesktop.PolicyKit1.Error.Cancelled error when the caller cancels
it with CancelCheckAuthorization. GetChecks returns each check with its
details and cancellation id, GetCancelled the ids cancelled.

Parameters (all optional): "allowed", "challenge", "hanging": lists of
action ids.
'''

# This program is free software; you can redistribute it and/or modify it
# under the terms of the GNU Lesser General Public License as published by
# the Free Software Foundation; either version 2.1 of the License, or (at your
# option) any later version.

import dbus

from dbusmock import MOCK_IFACE

BUS_NAME = 'org.freedesktop.PolicyKit1'
MAIN_OBJ = '/org/freedesktop/PolicyKit1/Authority'
MAIN_IFACE = 'org.freedesktop.PolicyKit1.Authority'
SYSTEM_BUS = True

ALLOW_USER_INTERACTION = 1


def load(mock, parameters):
    mock.AddProperties(MAIN_IFACE,
                       dbus.Dictionary({
                           'BackendName': 'kexecd-test-mock',
                           'BackendVersion': '0.1',
                           'BackendFeatures': dbus.UInt32(1, variant_level=1),
                       }, signature='sv'))
    mock.allow_unknown = False
    mock.allowed = [str(a) for a in parameters.get('allowed', [])]
    mock.challenge = [str(a) for a in parameters.get('challenge', [])]
    mock.hanging_actions = [str(a) for a in parameters.get('hanging', [])]
    mock.hanging_calls = []
    mock.calls = []
    mock.checks = []
    mock.cancelled = []


def _answer(self, action_id, flags):
    if action_id in self.allowed or (self.allow_unknown and action_id not in self.challenge):
        return (True, False, {})
    if action_id in self.challenge:
        if flags & ALLOW_USER_INTERACTION:
            return (True, False, {})
        return (False, True, {})
    return (False, False, {})


@dbus.service.method(MAIN_IFACE,
                     in_signature='(sa{sv})sa{ss}us',
                     out_signature='(bba{ss})',
                     async_callbacks=('ok_cb', 'err_cb'))
def CheckAuthorization(self, subject, action_id, details, flags, cancellation_id,
                       ok_cb, err_cb):
    kind, subject_details = subject
    self.calls.append((str(kind), dbus.Dictionary(subject_details, signature='sv'),
                       str(action_id), dbus.UInt32(flags)))
    self.checks.append((str(kind), dbus.Dictionary(subject_details, signature='sv'),
                        str(action_id), dbus.Dictionary(details, signature='ss'),
                        dbus.UInt32(flags), str(cancellation_id)))
    ret = _answer(self, str(action_id), int(flags))
    if str(action_id) in self.hanging_actions:
        self.hanging_calls.append((ok_cb, err_cb, ret, str(cancellation_id)))
    else:
        ok_cb(ret)


@dbus.service.method(MAIN_IFACE, in_signature='s', out_signature='')
def CancelCheckAuthorization(self, cancellation_id):
    # polkitd matches the id per calling connection; one caller here.
    self.cancelled.append(str(cancellation_id))
    keep = []
    for call in self.hanging_calls:
        if call[3] and call[3] == str(cancellation_id):
            call[1](dbus.exceptions.DBusException(
                'The authorization check was cancelled',
                name='org.freedesktop.PolicyKit1.Error.Cancelled'))
        else:
            keep.append(call)
    self.hanging_calls = keep


@dbus.service.method(MAIN_IFACE, in_signature='(sa{sv})ss')
def RegisterAuthenticationAgent(_self, _subject, _locale, _object_path):
    pass


@dbus.service.method(MOCK_IFACE, in_signature='b', out_signature='')
def AllowUnknown(self, default):
    '''Whether actions not listed in SetAllowed/SetChallenge are allowed'''
    self.allow_unknown = bool(default)


@dbus.service.method(MOCK_IFACE, in_signature='as', out_signature='')
def SetAllowed(self, actions):
    '''Actions authorized outright'''
    self.allowed = [str(a) for a in actions]


@dbus.service.method(MOCK_IFACE, in_signature='as', out_signature='')
def SetChallenge(self, actions):
    '''Actions that need authentication (authorized only when interactive)'''
    self.challenge = [str(a) for a in actions]


@dbus.service.method(MOCK_IFACE, in_signature='as', out_signature='')
def SetHanging(self, actions):
    '''Actions whose checks get no answer until ReleaseHangingCalls'''
    self.hanging_actions = [str(a) for a in actions]


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='u')
def HangingCallCount(self):
    return dbus.UInt32(len(self.hanging_calls))


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='u')
def ReleaseHangingCalls(self):
    '''Answers every hanging check; returns how many there were'''
    calls, self.hanging_calls = self.hanging_calls, []
    for (cb, _err_cb, ret, _cancellation_id) in calls:
        cb(ret)
    return dbus.UInt32(len(calls))


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='a(sa{sv}su)')
def GetCalls(self):
    '''Every CheckAuthorization so far: (subject kind, subject details,
    action id, flags)'''
    return dbus.Array(self.calls, signature='(sa{sv}su)')


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='a(sa{sv}sa{ss}us)')
def GetChecks(self):
    '''Every CheckAuthorization so far: (subject kind, subject details,
    action id, details, flags, cancellation id)'''
    return dbus.Array(self.checks, signature='(sa{sv}sa{ss}us)')


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='as')
def GetCancelled(self):
    '''The cancellation ids of every CancelCheckAuthorization so far'''
    return dbus.Array(self.cancelled, signature='s')


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='')
def ClearCalls(self):
    self.calls = []
    self.checks = []
    self.cancelled = []
