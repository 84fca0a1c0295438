# syntax=docker/dockerfile:1
# The image of every Chirp service; the build argument PROJECT names the service's project folder, one of
# gateway/Chirp.Gateway, subgraphs/Chirp.Users, subgraphs/Chirp.Tweets, email-worker/Chirp.EmailWorker.
# Build context: the repository root.
#   docker build --build-arg PROJECT=subgraphs/Chirp.Users -t chirp/users:dev .
# Runs as the non-root "app" user (uid 1654) and listens on 8080.

# The gateway's GraphQL IDE (Banana Cake Pop) is a static build shipped in an npm package. Every image builds this
# stage (BuildKit caches it); only the gateway's project file copies its files into the output.
FROM node:20.20.2-bookworm-slim AS ide
WORKDIR /ide
COPY gateway/Chirp.Gateway/ide/package.json gateway/Chirp.Gateway/ide/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM mcr.microsoft.com/dotnet/sdk:10.0.401 AS build
ARG PROJECT
RUN test -n "$PROJECT" || { echo "Set --build-arg PROJECT=<folder of the service's project>, e.g. subgraphs/Chirp.Users" >&2; exit 1; }
WORKDIR /src
# Restore first, from project files only, so that source changes reuse the restored layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY schema/Chirp.Contracts/Chirp.Contracts.csproj schema/Chirp.Contracts/
COPY hosting/Chirp.Hosting/Chirp.Hosting.csproj hosting/Chirp.Hosting/
COPY hosting/Chirp.IdentityAssertions/Chirp.IdentityAssertions.csproj hosting/Chirp.IdentityAssertions/
COPY hosting/Chirp.GraphQL/Chirp.GraphQL.csproj hosting/Chirp.GraphQL/
COPY hosting/Chirp.GraphQL.AspNetCore/Chirp.GraphQL.AspNetCore.csproj hosting/Chirp.GraphQL.AspNetCore/
COPY hosting/Chirp.Subgraphs/Chirp.Subgraphs.csproj hosting/Chirp.Subgraphs/
COPY gateway/Chirp.Federation/Chirp.Federation.csproj gateway/Chirp.Federation/
COPY ${PROJECT}/*.csproj ${PROJECT}/
RUN dotnet restore "$PROJECT"
COPY schema/ schema/
COPY hosting/ hosting/
COPY gateway/Chirp.Federation/ gateway/Chirp.Federation/
COPY ${PROJECT}/ ${PROJECT}/
# The gateway's project file copies the IDE's files (and schema/supergraph.graphql) into the output.
COPY --from=ide /ide/node_modules/ gateway/Chirp.Gateway/ide/node_modules/
RUN dotnet publish "$PROJECT" -c Release -o /app --no-restore -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0.12 AS final
ARG PROJECT
WORKDIR /app
# Plain "Urls" overrides the local default in appsettings.json (ASPNETCORE_URLS would not).
ENV Urls=http://+:8080 \
    DOTNET_gcServer=0 \
    CHIRP_PROJECT=${PROJECT}
COPY --from=build /app ./
USER $APP_UID
EXPOSE 8080
# The assembly is named after the project folder (Chirp.Users.dll); exec hands PID 1 and its signals to dotnet, and
# arguments (e.g. "migrate") pass through.
ENTRYPOINT ["/bin/sh", "-c", "exec dotnet \"${CHIRP_PROJECT##*/}.dll\" \"$@\"", "chirp"]
