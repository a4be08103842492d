@echo off
rem wasess-cleanup.cmd: Cleans everything stale: expired QR codes and locks, stale sessions, orphan credential stores.
rem Arguments pass through; the exit code is wasess's (see "wasess --help").
rem Reach the daemon with WASESS_CONNECT=tcp://HOST:PORT and WASESS_TOKEN_FILE=PATH.
setlocal
if not defined WASESS_EXE set "WASESS_EXE=%~dp0wasess.exe"
"%WASESS_EXE%" cleanup %*
exit /b %ERRORLEVEL%
