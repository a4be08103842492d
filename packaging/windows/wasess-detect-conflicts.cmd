@echo off
rem wasess-detect-conflicts.cmd: Reports phone numbers held by more than one user (exit 3 when any).
rem Arguments pass through; the exit code is wasess's (see "wasess --help").
rem Reach the daemon with WASESS_CONNECT=tcp://HOST:PORT and WASESS_TOKEN_FILE=PATH.
setlocal
if not defined WASESS_EXE set "WASESS_EXE=%~dp0wasess.exe"
"%WASESS_EXE%" detect-conflicts %*
exit /b %ERRORLEVEL%
