@echo off
rem wasess-reset-sessions.cmd: Resets sessions: --user USER, or --all --yes.
rem Arguments pass through; the exit code is wasess's (see "wasess --help").
rem Reach the daemon with WASESS_CONNECT=tcp://HOST:PORT and WASESS_TOKEN_FILE=PATH.
setlocal
if not defined WASESS_EXE set "WASESS_EXE=%~dp0wasess.exe"
"%WASESS_EXE%" reset-sessions %*
exit /b %ERRORLEVEL%
